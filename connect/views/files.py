def file_list(request, pk):
    raise NotImplementedError


def file_download(request, pk):
    raise NotImplementedError


def file_upload(request, pk):
    raise NotImplementedError
