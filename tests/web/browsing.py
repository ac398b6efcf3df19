"""What a person at a browser does and checks: log in, fit the screen, name every control, Tab around."""

from __future__ import annotations

from tests.web.conftest import DESKTOP, PHONE

# Roles of controls a person fills in or presses: each needs a name a screen reader can say.
CONTROL_ROLES = {"textbox", "searchbox", "combobox", "checkbox", "radio", "button", "spinbutton", "listbox", "slider"}


def log_in(tab, email: str, password: str = "password123") -> None:
    tab.goto("/login")
    tab.get_by_label("Email").fill(email)
    tab.get_by_label("Password").fill(password)
    tab.get_by_role("button", name="Log in").click()
    tab.wait_for_load_state()
    assert "/login" not in tab.url, f"still on the login page: {tab.locator('.error, .flash-error').all_inner_texts()}"


def overflow(tab) -> tuple[int, int]:
    """(scrollWidth, innerWidth): the page overflows sideways when the first is larger."""
    return tab.evaluate("[document.scrollingElement.scrollWidth, window.innerWidth]")


def assert_fits_both_widths(tab, name: str) -> None:
    """At 390 px and at 1280 px, nothing makes the page scroll sideways."""
    for viewport in (PHONE, DESKTOP):
        tab.set_viewport_size(viewport)
        tab.wait_for_timeout(50)
        scroll, inner = overflow(tab)
        assert scroll <= inner, f"{name} overflows at {viewport['width']} px: scrollWidth {scroll} > {inner}"


def unnamed_controls(tab) -> list[str]:
    """Controls whose accessible name, as Chromium computes it, is empty."""
    cdp = tab.context.new_cdp_session(tab)
    try:
        nodes = cdp.send("Accessibility.getFullAXTree")["nodes"]
    finally:
        cdp.detach()
    missing = []
    for node in nodes:
        role = (node.get("role") or {}).get("value")
        if node.get("ignored") or role not in CONTROL_ROLES:
            continue
        name = ((node.get("name") or {}).get("value") or "").strip()
        if not name:
            missing.append(f"{role} (backend node {node.get('backendDOMNodeId')})")
    return missing


def assert_controls_named(tab, name: str) -> None:
    missing = unnamed_controls(tab)
    assert not missing, f"{name}: controls without an accessible name: {missing}"


def focus_walk(tab, presses: int = 60, until: set[str] | None = None) -> list[dict]:
    """Press Tab up to `presses` times from the top (stopping once every id or text in `until` had focus);
    what had focus each time, and whether its focus showed."""
    # Start from the top of the document, whatever has focus (autofocus, a click): focus a probe that is
    # first in the body and outside the Tab order, so the first Tab goes to the first real stop.
    tab.evaluate(
        """() => {
          const probe = document.createElement('span');
          probe.id = 'focus-probe'; probe.tabIndex = -1;
          document.body.prepend(probe); probe.focus();
        }"""
    )
    seen: list[dict] = []
    waiting = set(until or ())
    for _ in range(presses):
        if until and not waiting:
            break
        tab.keyboard.press("Tab")
        seen.append(
            tab.evaluate(
                """() => {
                  const el = document.activeElement;
                  if (!el || el === document.body) return {tag: 'body'};
                  const style = getComputedStyle(el);
                  return {
                    tag: el.tagName.toLowerCase(),
                    id: el.id || null,
                    text: (el.innerText || el.value || el.getAttribute('aria-label') || '').trim().slice(0, 60),
                    visible_focus: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0,
                  };
                }"""
            )
        )
        waiting -= {seen[-1].get("id"), seen[-1].get("text")}
    tab.evaluate("document.getElementById('focus-probe')?.remove()")
    return seen


def assert_keyboard_reaches(tab, name: str, targets: list[str], presses: int = 60) -> list[dict]:
    """Tab from the top reaches each target (an id or a visible text), each with a visible focus ring."""
    walk = focus_walk(tab, presses, until=set(targets))
    assert walk[0]["text"] == "Skip to content", f"{name}: the first Tab stop is {walk[0]}, not the skip link"
    for target in targets:
        stop = next((s for s in walk if target in (s.get("id"), s.get("text"))), None)
        assert stop is not None, (
            f"{name}: Tab never reaches {target!r}; stops were {[s.get('text') or s.get('id') for s in walk]}"
        )
        assert stop["visible_focus"], f"{name}: {target!r} has no visible focus ring"
    return walk


def check_page(tab, name: str, keyboard_targets: list[str] | None = None) -> None:
    """The three checks every main page passes, then a screenshot of it at 1280 px."""
    from tests.web.conftest import screenshot

    assert_controls_named(tab, name)
    if keyboard_targets:
        assert_keyboard_reaches(tab, name, keyboard_targets)
    assert_fits_both_widths(tab, name)
    tab.evaluate("document.activeElement && document.activeElement.blur()")
    tab.set_viewport_size(PHONE)
    screenshot(tab, f"{name}-390")
    tab.set_viewport_size(DESKTOP)
    screenshot(tab, name)
