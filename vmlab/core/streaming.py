"""Serving files under ASGI without reading them whole into memory first."""

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from whitenoise import middleware

CHUNK_SIZE = 64 * 1024


async def _chunks(file):
    read = sync_to_async(file.read, thread_sensitive=False)
    while chunk := await read(CHUNK_SIZE):
        yield chunk


def stream_under_asgi(request, response):
    """Give a FileResponse an asynchronous body when the request came through ASGI.

    Django serves a FileResponse's synchronous iterator under ASGI by first reading the whole file into
    a list (and warning about it). Reading chunk by chunk on a worker thread keeps memory flat, however
    large the file. The response keeps its headers and still closes the file when it is done.
    """
    file = getattr(response, "file_to_stream", None)
    if file is not None and isinstance(request, ASGIRequest):
        response.streaming_content = _chunks(file)
    return response


class WhiteNoiseMiddleware(middleware.WhiteNoiseMiddleware):
    """whitenoise's middleware, streaming its files asynchronously under ASGI."""

    @staticmethod
    def serve(static_file, request):
        return stream_under_asgi(request, middleware.WhiteNoiseMiddleware.serve(static_file, request))
