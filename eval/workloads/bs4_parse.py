# Workload "beautifulsoup4": parses a small static HTML page with BeautifulSoup (html.parser) and walks it,
# again and again. READY after the first parse, then loops until killed.
from bs4 import BeautifulSoup

PAGE = """<!doctype html><html><head><title>Instances</title></head><body>
<h1 class="t">Catalog</h1><ul id="types">""" + "".join(
    f'<li class="type" data-vcpu="{2 ** (i % 5)}"><a href="/t/{i}">m{i % 7}.large</a> <b>{i * 3.5:.1f} GiB</b></li>' for i in range(12)
) + """</ul><p>Text with <em>emphasis</em> &amp; entities &lt;ok&gt;.</p></body></html>"""


def step():
    soup = BeautifulSoup(PAGE, "html.parser")
    names = [a.get_text() for a in soup.select("li.type a")]
    vcpus = sum(int(li["data-vcpu"]) for li in soup.find_all("li"))
    return len(names), vcpus, soup.title.string


step()
print("READY", flush=True)
while True:
    step()
