def terminal(request, pk):
    raise NotImplementedError
