import warnings

import pytest
from django.core.handlers.asgi import ASGIRequest
from django.http import FileResponse
from django.test import AsyncRequestFactory, RequestFactory

from vmlab.core.streaming import CHUNK_SIZE, stream_under_asgi

FILE_SIZE = 5 * CHUNK_SIZE + 123
# Closing a response sends request_finished, which looks at the database connection.
pytestmark = pytest.mark.django_db


@pytest.fixture
def big_file(tmp_path):
    path = tmp_path / "big.bin"
    path.write_bytes(bytes(range(256)) * (FILE_SIZE // 256) + b"x" * (FILE_SIZE % 256))
    return path


async def read_async(response):
    return [chunk async for chunk in response]


@pytest.mark.asyncio
async def test_under_asgi_the_file_is_read_chunk_by_chunk_and_not_first_loaded_whole(big_file):
    request = AsyncRequestFactory().get("/download")
    assert isinstance(request, ASGIRequest)
    response = FileResponse(big_file.open("rb"), as_attachment=True, filename="big.bin")

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Django warns when it has to buffer a synchronous iterator
        chunks = await read_async(stream_under_asgi(request, response))

    assert b"".join(chunks) == big_file.read_bytes()
    assert max(len(chunk) for chunk in chunks) == CHUNK_SIZE
    assert response["Content-Length"] == str(FILE_SIZE)
    assert 'filename="big.bin"' in response["Content-Disposition"]


@pytest.mark.asyncio
async def test_the_file_is_closed_once_the_response_is(big_file):
    file = big_file.open("rb")
    response = stream_under_asgi(AsyncRequestFactory().get("/download"), FileResponse(file))
    await read_async(response)

    response.close()

    assert file.closed


def test_under_wsgi_the_response_is_left_as_it_is(big_file):
    response = FileResponse(big_file.open("rb"))

    stream_under_asgi(RequestFactory().get("/download"), response)

    assert not response.is_async
    assert b"".join(response.streaming_content) == big_file.read_bytes()
    response.close()


@pytest.mark.asyncio
async def test_static_files_stream_through_whitenoise_under_asgi(settings, async_client, tmp_path):
    (tmp_path / "css").mkdir()
    (tmp_path / "css" / "site.css").write_text("body { color: #123456; }\n" * 10_000)
    settings.STATIC_ROOT = tmp_path

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        response = await async_client.get("/static/css/site.css")
        body = b"".join(await read_async(response))

    assert response.status_code == 200
    assert response.is_async
    assert body == (tmp_path / "css" / "site.css").read_bytes()
