def test_connection(request, pk):
    raise NotImplementedError


def trust_host_key(request, pk):
    raise NotImplementedError


def reset_host_key(request, pk):
    raise NotImplementedError
