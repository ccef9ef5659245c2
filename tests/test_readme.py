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
    assert 'geotarget analyse "EH1 1YZ" --radius 0.5mi' in cmds[0]
    assert "pytest" in cmds[1]


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "README.md" in ci and "sed -n 2p" in ci
