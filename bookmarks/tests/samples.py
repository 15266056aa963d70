# ruff: noqa: E501 (the lines are as long as browsers write them)
"""Bookmark files as browsers write them, trimmed to what the tests need."""

CHROME = """<!DOCTYPE NETSCAPE-Bookmark-file-1>
<!-- This is an automatically generated file.
     It will be read and overwritten.
     DO NOT EDIT! -->
<META HTTP-EQUIV="Content-Type" CONTENT="text/html; charset=UTF-8">
<TITLE>Bookmarks</TITLE>
<H1>Bookmarks</H1>
<DL><p>
    <DT><H3 ADD_DATE="1700000000" LAST_MODIFIED="1700000100" PERSONAL_TOOLBAR_FOLDER="true">Bookmarks bar</H3>
    <DL><p>
        <DT><A HREF="https://grafana.lab.example/" ADD_DATE="1700000000" ICON="data:image/png;base64,iVBORw0KGgo=">Grafana</A>
        <DT><H3 ADD_DATE="1700000000" LAST_MODIFIED="0">Lab Docs</H3>
        <DL><p>
            <DT><A HREF="https://wiki.lab.example/runbooks?team=ops&amp;page=2" ADD_DATE="1700000000">Runbooks &amp; how-tos</A>
        </DL><p>
    </DL><p>
    <DT><A HREF="javascript:alert(document.cookie)" ADD_DATE="1700000000">Bookmarklet</A>
</DL><p>
"""

FIREFOX = """<!DOCTYPE NETSCAPE-Bookmark-file-1>
<!-- This is an automatically generated file.
     It will be read and overwritten.
     DO NOT EDIT! -->
<META HTTP-EQUIV="Content-Type" CONTENT="text/html; charset=UTF-8">
<meta http-equiv="Content-Security-Policy"
      content="default-src 'self'; script-src 'none'; img-src data: *; object-src 'none'"></meta>
<TITLE>Bookmarks</TITLE>
<H1>Bookmarks Menu</H1>

<DL><p>
    <DT><A HREF="https://www.mozilla.org/en-US/firefox/central/" ADD_DATE="1699999999" LAST_MODIFIED="1699999999">Getting Started</A>
    <DT><A HREF="place:sort=8&maxResults=10" ADD_DATE="1699999999">Recent Tags</A>
    <HR>
    <DT><H3 ADD_DATE="1700000000" LAST_MODIFIED="1700000000" PERSONAL_TOOLBAR_FOLDER="true">Bookmarks Toolbar</H3>
    <DL><p>
        <DT><A HREF="https://metrics.lab.example:443/d/cpu#panel-2" ADD_DATE="1700000000" TAGS="monitoring,Grafana">CPU dashboard</A>
        <DD>Per-VM CPU &lt;graphs&gt;
    </DL><p>
</DL>
"""

# Two good links, one link twice, one link the account already has, a javascript: and a data: link.
MIXED = """<!DOCTYPE NETSCAPE-Bookmark-file-1>
<DL><p>
<DT><A HREF="https://docs.lab.example/start">Docs</A>
<DT><A HREF="https://status.lab.example/">Status</A>
<DT><A HREF="https://DOCS.lab.example/start/#intro">Docs again</A>
<DT><A HREF="https://existing.lab.example/">Already saved</A>
<DT><A HREF="javascript:alert(1)">Evil</A>
<DT><A HREF="data:text/html,&lt;script&gt;alert(1)&lt;/script&gt;">Also evil</A>
</DL><p>
"""
