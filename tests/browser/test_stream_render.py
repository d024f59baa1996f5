"""Streaming markdown: rendering a reply block by block as it arrives gives the same page as
rendering it whole, keeps finished blocks' nodes, and never lets model-written HTML in."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests import authed
from tests.browser.test_chat_ui import messages, open_app, send

FENCE = "```"

DOC = f"""# Release notes

Intro with `inline code`, **bold**, *emphasis*, a 2*3 product and a [link](https://example.com).

- item one
- item two with `code`

- a loose item after a blank line
  that continues here

  and has a second paragraph

1. first
2. second

3. third, after a blank line

Paragraph straight after the list.

| Name | Value | Note |
|------|------:|------|
| a | `1` | **yes** |
| b | 2 | [docs](https://example.com/docs) |

{FENCE}python
def total(items):
    subtotal = sum(i.price for i in items)

    # the blank line above is inside the fence
    return subtotal * 1.2
{FENCE}

> A quote
> that goes on.

~~~js
const a = 1;

const b = a + 1;
~~~

    indented code

    more of it after a blank line

Setext heading
--------------

````md
{FENCE}js
console.log("a fence inside a fence");
{FENCE}
````

<!-- an HTML comment

that spans a blank line -->

Text with a **bold run
that wraps** and an `inline
code span`.

{FENCE}bash
echo "the last block is a fence"

echo done
{FENCE}

The end."""

REF_DOC = """See [the guide][guide] first.

Then the rest.

[guide]: https://example.com/guide
"""

EVIL = """Safe start.

<img src=x onerror="window.__pwned = 'img'">

<script>window.__pwned = 'script'</script>

<svg onload="window.__pwned = 'svg'"></svg>

[click](javascript:window.__pwned='link') and <a href="javascript:alert(1)">raw</a>

<iframe src="javascript:window.__pwned='iframe'"></iframe>

```html
<img src=x onerror="window.__pwned = 'code'">
```

Done."""

# Feeds `text` to a MarkdownStream in pieces, checking after each piece that the element
# shows what rendering the text so far whole shows, and that nodes of finished blocks stay.
FEED = """async ({ text, sizes, seed, identity, budget }) => {
  const { MarkdownStream } = await import('/static/markdown_stream.js');
  const { renderMarkdown } = await import('/static/render.js');
  const whole = (t, streaming) => {
    const template = document.createElement('template');
    template.innerHTML = renderMarkdown(t, { streaming });
    return template.innerHTML;
  };
  const root = document.createElement('div');
  root.className = 'markdown';
  document.body.append(root);
  const stream = new MarkdownStream(root);
  let state = seed;
  const random = () => ((state = (state * 1103515245 + 12345) % 2147483648) / 2147483648);
  const failures = [];
  let committed = [];
  let mostCommitted = 0;
  let at = 0;
  let steps = 0;
  let deferred = 0;
  while (at < text.length) {
    at = Math.min(text.length, at + 1 + Math.floor(random() * sizes));
    const part = text.slice(0, at);
    // With a budget, a backlog takes several calls (frames); each shows a prefix.
    while (stream.update(part, { streaming: true, budget })) deferred++;
    steps++;
    if (root.innerHTML !== whole(part, true) && failures.length < 5)
      failures.push({ at, got: root.innerHTML, want: whole(part, true) });
    const nodes = [...root.childNodes];
    committed.forEach((node, i) => {
      if (identity && nodes[i] !== node && failures.length < 5)
        failures.push({ at, lost: node.outerHTML ?? node.data });
    });
    committed = nodes.filter((n) => !stream.tail.includes(n));
    mostCommitted = Math.max(mostCommitted, committed.length);
  }
  stream.update(text, { streaming: false });
  const final = root.innerHTML;
  root.remove();
  return { failures, steps, deferred, mostCommitted, final, want: whole(text, false) };
}"""


def feed(
    page: Page, text: str, sizes: int, seed: int = 7, identity: bool = True, budget: float = 1e9
) -> dict:
    args = {"text": text, "sizes": sizes, "seed": seed, "identity": identity, "budget": budget}
    return page.evaluate(FEED, args)


def test_incremental_render_equals_whole_render(start_server, replay_file, page: Page) -> None:
    server = start_server(replay_file(""))
    open_app(page, server)
    for sizes, seed in ((1, 1), (6, 3), (40, 11)):  # char by char, token-ish, bursts
        result = feed(page, DOC, sizes, seed)
        assert result["failures"] == [], result["failures"]
        assert result["final"] == result["want"]
        # Finished blocks were set aside as the text came (not all rendered at the end).
        assert result["mostCommitted"] >= 20, result["mostCommitted"]
    # A burst of many blocks with no time to spare: shown a run of blocks per call.
    result = feed(page, DOC * 3, 2000, 5, budget=0)
    assert result["failures"] == [], result["failures"]
    assert result["final"] == result["want"]
    assert result["deferred"] > 0
    # A link reference definition can serve earlier blocks: once one turns up, the text is
    # rendered whole (earlier blocks are rendered again).
    result = feed(page, REF_DOC, 3, identity=False)
    assert result["failures"] == [], result["failures"]
    assert 'href="https://example.com/guide"' in result["final"]
    assert result["final"] == result["want"]


def test_fast_stream_keeps_finished_blocks(start_server, replay_file, page: Page) -> None:
    text = "\n\n".join([DOC.replace("The end.", f"Part {n} ends.") for n in range(3)])
    server = start_server(replay_file(text, tps=1500))
    open_app(page, server)
    page.evaluate(
        """() => {
        window.__watch = { removed: new Set(), early: null, streamingThen: false };
        new MutationObserver((records) => {
          for (const r of records) for (const n of r.removedNodes) window.__watch.removed.add(n);
          const content = document.querySelector(
            '[data-role="assistant"] [data-testid="message-content"]');
          if (!content || window.__watch.early) return;
          if (content.querySelectorAll('.code-block').length < 4) return;
          const code = content.querySelector('.code-block code');
          window.__watch.early = {
            heading: content.querySelector('h1'),
            table: content.querySelector('table'),
            list: content.querySelector('ol'),
            block: content.querySelector('.code-block'),
            span: code.querySelector('.hljs-keyword'),
            text: code.lastChild,
          };
          window.__watch.streamingThen =
            content.closest('[data-testid="message"]').dataset.status === 'streaming';
        }).observe(document.getElementById('thread'), { childList: true, subtree: true });
      }"""
    )
    send(page, "Release notes, please")
    reply = messages(page, "assistant").last
    expect(reply).to_have_attribute("data-status", "complete", timeout=20_000)
    content = reply.get_by_test_id("message-content")
    expect(content).to_contain_text("Part 2 ends.")

    # The early blocks were picked up mid-stream and are the very same nodes at the end:
    # not re-rendered, re-highlighted or re-sanitised as later text arrived.
    check = page.evaluate(
        """() => {
        const w = window.__watch;
        const content = document.querySelector(
          '[data-role="assistant"] [data-testid="message-content"]');
        const nodes = Object.entries(w.early ?? {});
        return {
          caught: Boolean(w.early),
          streamingThen: w.streamingThen,
          missing: nodes.filter(([, n]) => !n || !content.contains(n)).map(([k]) => k),
          removedThenShown: [...w.removed].filter((n) => content.contains(n)).length,
        };
      }"""
    )
    assert check["caught"] and check["streamingThen"], check
    assert check["missing"] == [], check
    assert check["removedThenShown"] == 0, check

    # The page shows exactly what rendering the stored reply in one go gives.
    conversation = page.evaluate("location.hash").split("/")[-1]
    stored = authed.get(f"{server.url}/api/conversations/{conversation}").json()
    assert stored["messages"][-1]["content"] == text
    same = page.evaluate(
        """async (text) => {
        const { renderMarkdown } = await import('/static/render.js');
        const template = document.createElement('template');
        template.innerHTML = renderMarkdown(text);
        const content = document.querySelector(
          '[data-role="assistant"] [data-testid="message-content"]');
        return content.innerHTML === template.innerHTML;
      }""",
        text,
    )
    assert same


WATCH_EVIL = """() => {
  window.__evil = [];
  const bad = (n) =>
    n.nodeType === 1 &&
    (/^(IMG|SCRIPT|IFRAME|OBJECT|EMBED)$/.test(n.nodeName) ||
      [...n.attributes].some((a) => a.name.startsWith('on')) ||
      /^\\s*javascript:/i.test(n.getAttribute('href') ?? '') ||
      /^\\s*javascript:/i.test(n.getAttribute('src') ?? ''));
  new MutationObserver((records) => {
    for (const r of records) {
      const at = r.target.nodeType === 1 ? r.target : r.target.parentElement;
      if (!at?.closest('.markdown')) continue; // rendered model output only, not the app
      const nodes = r.type === 'attributes' ? [r.target] : [...r.addedNodes];
      for (const n of nodes) {
        if (bad(n)) window.__evil.push(n.outerHTML);
        if (n.nodeType === 1)
          for (const m of n.querySelectorAll('*')) if (bad(m)) window.__evil.push(m.outerHTML);
      }
    }
  }).observe(document.body, { childList: true, subtree: true, attributes: true });
}"""


def test_streamed_html_never_gets_in(start_server, replay_file, page: Page) -> None:
    server = start_server(replay_file(EVIL, tps=400))  # the tags arrive in many pieces
    open_app(page, server)
    page.evaluate(WATCH_EVIL)
    # The watch sees an element that should not be there (a harmless one, to prove it).
    page.evaluate(
        """async () => {
        const probe = document.createElement('div');
        probe.className = 'markdown';
        document.body.append(probe);
        probe.append(document.createElement('img'));
        await new Promise((resolve) => setTimeout(resolve, 50));
        probe.remove();
      }"""
    )
    assert page.evaluate("window.__evil.splice(0)") == ["<img>"]
    send(page, "Be nice")
    reply = messages(page, "assistant").last
    expect(reply).to_have_attribute("data-status", "complete", timeout=20_000)
    content = reply.get_by_test_id("message-content")
    expect(content).to_contain_text("Done.")
    expect(content).to_contain_text("onerror")  # shown as text
    # Character by character too, straight into a stream renderer.
    result = feed(page, EVIL, 1)
    assert result["failures"] == [], result["failures"]
    page.wait_for_timeout(300)
    assert page.evaluate("window.__evil") == []
    assert page.evaluate("window.__pwned") is None
    assert content.locator("img, script, iframe, [onerror], [onload]").count() == 0
    assert content.locator('a[href^="javascript"]').count() == 0
