from types import SimpleNamespace

from django.utils import timezone

from bookmarks import netscape
from bookmarks.tests import samples


def test_chrome_file_gives_every_link_with_its_folders_as_tags_except_the_bookmarks_bar():
    entries = netscape.parse(samples.CHROME)

    assert [(entry.name, entry.link, entry.tags) for entry in entries] == [
        ("Grafana", "https://grafana.lab.example/", []),
        ("Runbooks & how-tos", "https://wiki.lab.example/runbooks?team=ops&page=2", ["lab-docs"]),
        ("Bookmarklet", "javascript:alert(document.cookie)", []),
    ]


def test_firefox_file_gives_tags_attribute_and_description():
    entries = netscape.parse(samples.FIREFOX)

    cpu = entries[-1]
    assert [entry.name for entry in entries] == ["Getting Started", "Recent Tags", "CPU dashboard"]
    assert cpu.tags == ["monitoring", "Grafana"]
    assert cpu.description == "Per-VM CPU <graphs>"
    assert entries[0].description == ""


def test_malformed_markup_still_gives_the_links_that_can_be_read():
    text = '<DL><DT><A HREF="https://a.lab.example/">A<DT><A HREF="https://b.lab.example/">B</a><DD>About B<DL><DT><A>'

    entries = netscape.parse(text)

    assert [(entry.name, entry.link, entry.description) for entry in entries] == [
        ("A", "https://a.lab.example/", ""),
        ("B", "https://b.lab.example/", "About B"),
    ]


def test_a_file_without_links_gives_nothing():
    assert netscape.parse("<html><body><p>Just text</p></body></html>") == []


def test_render_writes_the_netscape_format_with_escaped_values():
    now = timezone.now()
    bookmark = SimpleNamespace(
        name='<script>alert("x")</script>',
        link="https://lab.example/?a=1&b=2",
        tag_list=["docs", "ops"],
        description="Line one\nLine <two>",
        created_at=now,
        updated_at=now,
    )

    text = netscape.render([bookmark])

    assert text.startswith("<!DOCTYPE NETSCAPE-Bookmark-file-1>")
    assert f'HREF="https://lab.example/?a=1&amp;b=2" ADD_DATE="{int(now.timestamp())}"' in text
    assert 'TAGS="docs,ops">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;</A>' in text
    assert "<DD>Line one\nLine &lt;two&gt;\n" in text
    assert "<script>" not in text
