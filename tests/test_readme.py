from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _commands():
    lines, inside = [], False
    for ln in (ROOT / "README.md").read_text().splitlines():
        if ln.startswith("```"):
            if inside:
                return lines
            inside = True
            continue
        if inside and ln.strip():
            lines.append(ln)
    return lines


def test_readme_opens_with_two_commands():
    cmds = _commands()
    assert len(cmds) == 2
    # issue 12: the seed case, offline from the built-in England & Wales layer
    assert (
        'geotarget analyse "EC2Y 8BN" --radius 0.5mi --platforms all --budget 500 --currency GBP'
        in cmds[0]
    )
    assert "pytest" in cmds[1]


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "README.md" in ci and "sed -n 2p" in ci
