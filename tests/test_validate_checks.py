"""Issue 5: every check, broken on purpose in a generated repository.

Each row breaks a copy of a freshly generated repository in exactly one way and
expects exactly that check's code at the right file and line; then the matching
ignore in the repository's own configuration silences it, with its reason shown.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Callable

import pytest

from pyscaffoldext.dsproject_ops.validate.formats.human import render as human
from pyscaffoldext.dsproject_ops.validate.registry import all_checks
from pyscaffoldext.dsproject_ops.validate.runner import validate

ROOT = Path(__file__).resolve().parents[1]
Where = tuple[str, "int | None"]


@pytest.fixture(autouse=True)
def _own_cache(validate_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Never the user's cache (PC001, the schemas and SYN006 remember what passed):
    # the session's own, shared by its tests (conftest.validate_cache).
    monkeypatch.setenv("XDG_CACHE_HOME", str(validate_cache))


# -- editing helpers: each returns the 1-based line it touched -------------------------
def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").split("\n")


def replace(repo: Path, rel: str, contains: str, new: str, last: bool = False) -> int:
    lines = _lines(repo / rel)
    hits = [i for i, line in enumerate(lines) if contains in line]
    assert hits, f"{contains!r} not in {rel}: the template changed, update this test"
    index = hits[-1] if last else hits[0]
    lines[index] = new(lines[index]) if callable(new) else new
    (repo / rel).write_text("\n".join(lines), encoding="utf-8")
    return index + 1


def insert(repo: Path, rel: str, contains: str, new: str, before: bool = False) -> int:
    lines = _lines(repo / rel)
    index = next(i for i, line in enumerate(lines) if contains in line)
    at = index if before else index + 1
    lines.insert(at, new)
    (repo / rel).write_text("\n".join(lines), encoding="utf-8")
    return at + 1


def append(repo: Path, rel: str, text: str) -> int:
    path = repo / rel
    old = path.read_text(encoding="utf-8")
    if not old.endswith("\n"):
        old += "\n"
    path.write_text(old + text, encoding="utf-8")
    return old.count("\n") + 1


def delete_line(repo: Path, rel: str, exact: str) -> None:
    lines = _lines(repo / rel)
    lines.remove(exact)
    (repo / rel).write_text("\n".join(lines), encoding="utf-8")


def git_add(repo: Path, rel: str, content: bytes) -> None:
    (repo / rel).parent.mkdir(parents=True, exist_ok=True)
    (repo / rel).write_bytes(content)
    subprocess.run(["git", "add", "-f", rel], cwd=repo, check=True, capture_output=True)


def line_of(repo: Path, rel: str, contains: str) -> int:
    return next(i for i, line in enumerate(_lines(repo / rel), 1) if contains in line)


# -- one breakage per check ---------------------------------------------------------------
def b_lay001(r: Path) -> Where:
    (r / "CHANGELOG.md").unlink()
    return "CHANGELOG.md", None


def b_lay002(r: Path) -> Where:
    text = (r / "setup.cfg").read_text(encoding="utf-8")
    kept = [line for line in text.split("\n") if not line.startswith("dsproject_ops_")]
    (r / "setup.cfg").write_text("\n".join(kept), encoding="utf-8")
    shutil.rmtree(r / "data" / "raw")
    return "data/raw", None


def b_lay003(r: Path) -> Where:
    return "setup.cfg", replace(r, "setup.cfg", "dsproject_ops_ci =", "dsproject_ops_ci = jenkins")


def b_tpl001(r: Path) -> Where:
    return "docs/index.md", append(r, "docs/index.md", "Install {{ cookiecutter.package }}.\n")


def b_tpl004(r: Path) -> Where:
    return "README.md", append(r, "README.md", "Install {{ project_name }}.\n")


def b_tpl002(r: Path) -> Where:
    insert(r, "README.md", "", "<<<<<<< ours\nmine\n=======\ntheirs\n>>>>>>> theirs")
    return "README.md", 2


def b_tpl003(r: Path) -> Where:
    (r / "setup.cfg.rej").write_text("--- a\n+++ b\n", encoding="utf-8")
    return "setup.cfg.rej", None


def b_syn001(r: Path) -> Where:
    return "params.yaml", append(r, "params.yaml", "broken: value: here\n")


def b_syn002(r: Path) -> Where:
    return "pyproject.toml", append(r, "pyproject.toml", "broken = = 1\n")


def b_syn003(r: Path) -> Where:
    return "setup.cfg", append(r, "setup.cfg", "[metadata]\nname = twice\n")


def b_syn004(r: Path) -> Where:
    git_add(r, "configs/settings.json", b'{"a": 1,}\n')
    return "configs/settings.json", 1


def b_syn006(r: Path) -> Where:
    return "src/demo/data.py", append(r, "src/demo/data.py", "return 1\n")


def b_syn005(r: Path) -> Where:
    (r / "notebooks" / "template.ipynb").write_text('{"metadata": {}}\n', encoding="utf-8")
    return "notebooks/template.ipynb", 1


def b_pc001(r: Path) -> Where:
    return ".pre-commit-config.yaml", replace(
        r, ".pre-commit-config.yaml", "language: python", lambda s: s.replace("python", "pythonx")
    )


def b_pc002(r: Path) -> Where:
    start = append(
        r,
        ".pre-commit-config.yaml",
        "  - repo: https://github.com/psf/black\n    rev: main\n" "    hooks:\n      - id: black\n",
    )
    return ".pre-commit-config.yaml", start + 1


def b_pc003(r: Path) -> Where:
    replace(
        r,
        ".pre-commit-config.yaml",
        "id: check-merge-conflict",
        lambda s: s.replace("check-merge-conflict", "check-merge-conflicts"),
    )
    return ".pre-commit-config.yaml", line_of(r, ".pre-commit-config.yaml", "repos:")


def b_pc004(r: Path) -> Where:
    return ".pre-commit-config.yaml", replace(
        r,
        ".pre-commit-config.yaml",
        "additional_dependencies: [pre-commit-hooks==",
        lambda s: s.split("[")[0] + "[pre-commit-hooks]",
    )


def b_env001(r: Path) -> Where:
    return "environment.yml", append(r, "environment.yml", "colour: red\n")


def b_env002(r: Path) -> Where:
    return "environment.yml", replace(r, "environment.yml", "- pytest==", lambda s: s + ",")


def b_env003(r: Path) -> Where:
    return "setup.cfg", replace(r, "setup.cfg", "python_version = 3.", "python_version = 3.9")


def b_env004(r: Path) -> Where:
    return "environment.yml", replace(
        r, "environment.yml", "- pandas==", lambda s: s.split("==")[0] + "==0.0.1"
    )


def b_lck001(r: Path) -> Where:
    # the lock falls behind setup.cfg's numpy pin (a pin bumped without `scripts/lock.py`)
    return "requirements/lock.txt", replace(
        r, "requirements/lock.txt", "numpy==", lambda s: "numpy==0.0.1 \\"
    )


def b_lck002(r: Path) -> Where:
    return "requirements/serve.lock.txt", replace(
        r, "requirements/serve.lock.txt", "pandas==", lambda s: "pandas==0.0.1 \\"
    )


def b_dvc001(r: Path) -> Where:
    return "dvc.yaml", insert(r, "dvc.yaml", "  get_data:", "    colour: red")


def b_dvc002(r: Path) -> Where:
    return "dvc.yaml", replace(
        r, "dvc.yaml", "- src/demo/data.py", lambda s: s.replace("data.py", "missing.py")
    )


def b_dvc003(r: Path) -> Where:
    lines = _lines(r / "dvc.yaml")
    index = next(i for i, line in enumerate(lines) if line.strip() == "params:")
    lines[index + 1] = lines[index + 1] + "_typo"
    (r / "dvc.yaml").write_text("\n".join(lines), encoding="utf-8")
    return "dvc.yaml", index + 2


def b_dvc004(r: Path) -> Where:
    git_add(r, "reports/eda.ipynb", (r / "notebooks" / "template.ipynb").read_bytes())
    return "reports/eda.ipynb", None


def b_dvc007(r: Path) -> Where:
    changed = replace(r, "dvc.yaml", "python -m demo.cli", lambda s: s.replace("cli", "nocli"))
    lines = _lines(r / "dvc.yaml")
    return "dvc.yaml", max(i for i in range(1, changed + 1) if "cmd:" in lines[i - 1])


def b_dvc008(r: Path) -> Where:
    # the stage's own metrics file, listed again under outs: reported at the later entry
    at = insert(r, "dvc.yaml", "- reports/model_quality.md", "    - reports/metrics.json")
    lines = _lines(r / "dvc.yaml")
    return "dvc.yaml", next(
        i for i in range(at + 1, len(lines)) if "reports/metrics" in lines[i - 1]
    )


def b_dvc005(r: Path) -> Where:
    delete_line(r, ".dvc/config", "    remote = default")
    return ".dvc/config", 1


def b_dvc006(r: Path) -> Where:
    return ".dvc/config", append(r, ".dvc/config", "    access_key_id = myid\n")


def b_ci001(r: Path) -> Where:
    return ".gitlab-ci.yml", insert(r, ".gitlab-ci.yml", "lint:", "  colour: red")


def b_ci002(r: Path) -> Where:
    return ".gitlab-ci.yml", replace(r, ".gitlab-ci.yml", "  stage: test", "  stage: tests")


def b_ci003(r: Path) -> Where:
    lines = _lines(r / ".gitlab-ci.yml")
    index = next(i for i, line in enumerate(lines) if line.strip() == "needs:")
    lines[index + 1] = lines[index + 1] + "-typo"
    (r / ".gitlab-ci.yml").write_text("\n".join(lines), encoding="utf-8")
    return ".gitlab-ci.yml", index + 2


def b_ci004(r: Path) -> Where:
    return ".gitlab-ci.yml", insert(r, ".gitlab-ci.yml", "test:", "  extends: .nope")


def b_ci005(r: Path) -> Where:
    replace(r, ".github/workflows/ci.yml", "runs-on:", lambda s: s.replace("runs-on", "runs_on"))
    return ".github/workflows/ci.yml", line_of(r, ".github/workflows/ci.yml", "  lint:")


def b_sch001(r: Path) -> Where:
    # a real-world defect the keyword lists of CI001 let through
    return ".gitlab-ci.yml", insert(r, ".gitlab-ci.yml", "lint:", "  when: sometimes")


def b_sch002(r: Path) -> Where:
    rel = ".github/workflows/ci.yml"
    return rel, replace(r, rel, "timeout-minutes:", lambda s: s.split(":")[0] + ": soon")


def b_sch003(r: Path) -> Where:
    rel = ".github/dependabot.yml"
    return rel, replace(r, rel, "interval:", lambda s: s.split(":")[0] + ": fortnightly")


def b_sch004(r: Path) -> Where:
    return "compose.yaml", replace(r, "compose.yaml", "image:", lambda s: s.split(":")[0] + ": 42")


def b_sch005(r: Path) -> Where:
    git_add(r, "action.yml", b"name: build\ndescription: builds\nruns:\n  using: node8\n")
    return "action.yml", 4


def b_sch006(r: Path) -> Where:
    rel = "k8s/base/deployment.yaml"
    return rel, replace(r, rel, "  replicas:", "  replicas: two")


def b_sch007(r: Path) -> Where:
    return "dvc.yaml", insert(r, "dvc.yaml", "  get_data:", "    frozen: maybe")


def b_ci006(r: Path) -> Where:
    return ".github/workflows/ci.yml", replace(
        r, ".github/workflows/ci.yml", "needs: lint", lambda s: s + "-typo"
    )


def b_ci007(r: Path) -> Where:
    return ".gitlab-ci.yml", insert(
        r, ".gitlab-ci.yml", "- dvc pull --allow-missing", "    - bash scripts/nope.sh"
    )


def b_dkr001(r: Path) -> Where:
    return "Dockerfile", append(r, "Dockerfile", "FORM python\n")


def b_dkr002(r: Path) -> Where:
    return "Dockerfile", replace(r, "Dockerfile", "FROM python:", "FROM python", last=True)


def b_dkr003(r: Path) -> Where:
    return "Dockerfile", replace(r, "Dockerfile", "USER ", "USER 0", last=True)


def b_dkr004(r: Path) -> Where:
    return "Dockerfile", replace(r, "Dockerfile", "USER ", "USER app", last=True)


def b_dkr005(r: Path) -> Where:
    return "Dockerfile", replace(r, "Dockerfile", "CMD [", "CMD demo serve", last=True)


def b_dkr006(r: Path) -> Where:
    return "Dockerfile", insert(r, "Dockerfile", "USER ", "COPY nothing.txt /app/", before=True)


def b_dkr007(r: Path) -> Where:
    delete_line(r, ".dockerignore", ".git")
    return ".dockerignore", 1


def b_dkr009(r: Path) -> Where:
    # The image installs the hashed serving lock; a pin added by hand beside it
    return "Dockerfile", insert(
        r, "Dockerfile", "-r requirements/serve.lock.txt", "RUN pip install numpy==1.0.0"
    )


def b_k8s001(r: Path) -> Where:
    rel = "k8s/base/deployment.yaml"
    return rel, replace(r, rel, "containerPort: 8000", lambda s: s.replace("8000", "8080"))


def b_k8s002(r: Path) -> Where:
    rel = "k8s/base/deployment.yaml"
    return rel, replace(r, rel, "path: /health", lambda s: s.replace("/health", "/healthz"))


def b_k8s003(r: Path) -> Where:
    rel = "k8s/base/deployment.yaml"
    return rel, replace(r, rel, "image: demo", lambda s: s.replace("demo", "demo-service"))


def b_dkr008(r: Path) -> Where:
    return "README.md", replace(r, "README.md", "docker build -t ", "docker build -t MyProj .")


def b_git001(r: Path) -> Where:
    git_add(r, "models/model.pkl", b"weights")
    return "models/model.pkl", None


def b_git003(r: Path) -> Where:
    delete_line(r, ".gitignore", "/mlflow.db")
    return ".gitignore", 1


def b_git002(r: Path) -> Where:
    git_add(r, "references/big.bin", b"\0" * 600 * 1024)
    return "references/big.bin", None


def b_sec001(r: Path) -> Where:
    return "configs/README.md", append(
        r, "configs/README.md", "Server: https://alice:s3cr3tpw@db.example.com/x\n"
    )


def b_sec002(r: Path) -> Where:
    return "references/data_dictionary.md", append(
        r, "references/data_dictionary.md", "key AKIAABCDEFGHIJKLMNOP\n"
    )


def b_sec003(r: Path) -> Where:
    return "params.yaml", append(r, "params.yaml", "api_token: abc123xyz\n")


def b_sec004(r: Path) -> Where:
    git_add(r, ".env", b"X=1\n")
    return ".env", None


def b_doc001(r: Path) -> Where:
    return "README.md", append(r, "README.md", "\n```bash\nmake train\n```\n") + 2


def b_doc002(r: Path) -> Where:
    return "README.md", append(r, "README.md", "See [the guide](docs/missing.md).\n")


def b_doc003(r: Path) -> Where:
    return "mkdocs.yml", insert(r, "mkdocs.yml", "  - Home: index.md", "  - FAQ: faq.md")


def b_ext001(r: Path) -> Where:
    return "Dockerfile", insert(r, "Dockerfile", "USER ", "RUN cd /tmp && echo hi", before=True)


def b_ext002(r: Path) -> Where:
    return ".github/workflows/ci.yml", insert(
        r, ".github/workflows/ci.yml", "runs-on:", "    if: ${{ nosuchcontext.value }}"
    )


def b_ext003(r: Path) -> Where:
    insert(r, ".gitlab-ci.yml", "stages:", "include:\n  - local: missing.yml", before=True)
    return ".gitlab-ci.yml", None


def b_ext004(r: Path) -> Where:
    return "dvc.yaml", insert(r, "dvc.yaml", "  get_data:", "    frozen: maybe")


def b_ext005(r: Path) -> Where:
    return ".gitlab-ci.yml", insert(r, ".gitlab-ci.yml", "test:", "  when: sometimes")


# (code, breakage, config file for the ignore, external tools needed)
TABLE = [
    ("LAY001", b_lay001),
    ("LAY002", b_lay002),
    ("LAY003", b_lay003),
    ("TPL001", b_tpl001),
    ("TPL002", b_tpl002),
    ("TPL003", b_tpl003),
    ("TPL004", b_tpl004),
    ("SYN001", b_syn001),
    ("SYN002", b_syn002),
    ("SYN003", b_syn003),
    ("SYN004", b_syn004),
    ("SYN005", b_syn005),
    ("SYN006", b_syn006),
    ("PC001", b_pc001),
    ("PC002", b_pc002),
    ("PC003", b_pc003),
    ("PC004", b_pc004),
    ("ENV001", b_env001),
    ("ENV002", b_env002),
    ("ENV003", b_env003),
    ("ENV004", b_env004),
    ("LCK001", b_lck001),
    ("LCK002", b_lck002),
    ("DVC001", b_dvc001),
    ("DVC002", b_dvc002),
    ("DVC003", b_dvc003),
    ("DVC004", b_dvc004),
    ("DVC005", b_dvc005),
    ("DVC006", b_dvc006),
    ("DVC007", b_dvc007),
    ("DVC008", b_dvc008),
    ("CI001", b_ci001),
    ("CI002", b_ci002),
    ("CI003", b_ci003),
    ("CI004", b_ci004),
    ("CI005", b_ci005),
    ("CI006", b_ci006),
    ("CI007", b_ci007),
    ("SCH001", b_sch001),
    ("SCH002", b_sch002),
    ("SCH003", b_sch003),
    ("SCH004", b_sch004),
    ("SCH005", b_sch005),
    ("SCH006", b_sch006),
    ("SCH007", b_sch007),
    ("DKR001", b_dkr001),
    ("DKR002", b_dkr002),
    ("DKR003", b_dkr003),
    ("DKR004", b_dkr004),
    ("DKR005", b_dkr005),
    ("DKR006", b_dkr006),
    ("DKR007", b_dkr007),
    ("K8S001", b_k8s001),
    ("K8S002", b_k8s002),
    ("K8S003", b_k8s003),
    ("DKR008", b_dkr008),
    ("DKR009", b_dkr009),
    ("GIT001", b_git001),
    ("GIT002", b_git002),
    ("GIT003", b_git003),
    ("SEC001", b_sec001),
    ("SEC002", b_sec002),
    ("SEC003", b_sec003),
    ("SEC004", b_sec004),
    ("DOC001", b_doc001),
    ("DOC002", b_doc002),
    ("DOC003", b_doc003),
    ("EXT001", b_ext001),
    ("EXT002", b_ext002),
    ("EXT003", b_ext003),
    ("EXT004", b_ext004),
    ("EXT005", b_ext005),
]


def test_the_table_covers_every_check() -> None:
    assert sorted(code for code, _ in TABLE) == sorted(c.code for c in all_checks())


def add_ignore(repo: Path, code: str, reason: str) -> None:
    """The ignore, in pyproject.toml; in setup.cfg when the row broke pyproject.toml."""
    pyproject = repo / "pyproject.toml"
    if "broken = = 1" in pyproject.read_text(encoding="utf-8"):
        append(repo, "setup.cfg", f"\n[dsops.validate]\nignore =\n    {code}: {reason}\n")
    else:
        append(repo, "pyproject.toml", f'\n[tool.dsops.validate.ignore]\n{code} = "{reason}"\n')


@pytest.mark.parametrize(
    "code,breakage",
    # The EXT rows run the external tools (gitlab-ci-local, dvc, ...): slow tier.
    [pytest.param(c, b, id=c, marks=[pytest.mark.slow] * c.startswith("EXT")) for c, b in TABLE],
)
def test_each_breakage_gives_its_code_at_its_place_and_an_ignore_silences_it(
    generate: Callable[..., Path],
    copy_repo: Callable[[Path], Path],
    code: str,
    breakage: Callable[[Path], Where],
) -> None:
    repo = copy_repo(generate())
    external = code.startswith("EXT")
    file, line = breakage(repo)
    result = validate(repo, external=external)
    codes = {f.code for f in result.findings}
    if external:  # the other external tools (and the static schemas) may see it too
        others = {c for c in codes if c.startswith(("EXT", "SCH"))}
        assert code in codes and not codes - others, codes
    else:
        assert codes == {code}, human(result)
    here = [f for f in result.findings if f.code == code]
    assert any(f.file == file and f.line == line for f in here), human(result)
    assert all("crashed" not in f.message for f in result.findings)

    reason = f"breaking {code} on purpose"
    add_ignore(repo, code, reason)
    # external tools are slow: the second run needs only the one check
    again = validate(repo, external=external, only={code} if external else None)
    assert code not in {f.code for f in again.findings}, human(again)
    assert any(f.code == code and f.ignored == reason for f in again.ignored)
    assert f"{code} ({reason})" in human(again)


def test_template_syntax_shown_in_markdown_code_is_not_reported(
    generate: Callable[..., Path], copy_repo: Callable[[Path], Path]
) -> None:
    repo = copy_repo(generate())
    shown = (
        "\nRender with `{{ cookiecutter.package }}` or `{{ name }}`:\n\n"
        "```jinja\n{% if cookiecutter.ci %}{{ project_name }}{% endif %}\n```\n\n"
        "~~~\n{{ package|lower }}\n~~~\n"
    )
    append(repo, "README.md", shown)
    append(repo, "docs/index.md", shown)
    assert not validate(repo).findings
    line = append(repo, "README.md", "Then {{ project_name }} and {% endif %}.\n")
    found = {(f.code, f.file, f.line, f.column) for f in validate(repo).findings}
    assert found == {("TPL004", "README.md", line, 6), ("TPL001", "README.md", line, 29)}
