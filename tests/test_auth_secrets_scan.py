"""The last test of the run: no password or token the suite used is in any log.

It reads every log.json the run wrote (the audit logs of in-process apps and
of real servers, all under the run's temporary folder), the standard error of
every real server, and every log record of the run at every level, and looks
for each password and token of ``secret_registry`` (and each token's
signature on its own). conftest.py moves the tests marked ``run_last`` to the
end of the run.
"""

import re

import pytest

pytestmark = pytest.mark.run_last

#: Fewer secrets than this means the rest of the suite did not run.
ENOUGH = 100


_WORD = re.compile(r"[A-Za-z0-9_.~-]+")
_PROBE = 8  # every password and token is at least this long


def find_secrets(texts, secrets):
    """``(where, start of the secret)`` for every secret found in ``texts``.

    Searching each of thousands of secrets through megabytes of logs one by
    one takes minutes, so secrets made of token characters (all tokens, and
    the generated passwords) are found through the distinct words of each
    text: a secret inside a word starts with one of the word's 8-character
    pieces. The few other secrets are searched for directly.
    """
    probes = {}
    others = []
    for secret in secrets:
        if _WORD.fullmatch(secret) and len(secret) >= _PROBE:
            probes.setdefault(secret[:_PROBE], []).append(secret)
        else:
            others.append(secret)

    found = set()
    for where, text in texts.items():
        for word in set(_WORD.findall(text)):
            for start in range(len(word) - _PROBE + 1):
                for secret in probes.get(word[start : start + _PROBE], ()):
                    if word.startswith(secret, start):
                        found.add((where, secret[:6] + "..."))
        for secret in others:
            if secret in text:
                found.add((where, secret[:6] + "..."))
    return sorted(found)


def logs_of_the_run(registry, collector, basetemp):
    texts = {"log records": "\n".join(collector.lines)}
    paths = {str(path) for path in registry.paths}
    for path in basetemp.rglob("*"):
        if path.is_file() and (
            path.name.startswith("log.json") or path.suffix == ".err"
        ):
            paths.add(str(path))
    for path in sorted(paths):
        try:
            with open(path, encoding="utf-8", errors="replace") as file:
                texts[path] = file.read()
        except FileNotFoundError:
            continue
    return texts


def test_the_search_finds_what_is_there():
    texts = {
        "a": 'entry {"note": "pw-abc123456"}',
        "b": "nothing here",
        "c": "Bearer xyzeyJ1aWQiOjF9.sig-part-here",
        "d": "said correct horse battery staple",
    }
    secrets = {
        "pw-abc123456",
        "pw-zzzzzzzzz",
        "eyJ1aWQiOjF9.sig-part-here",
        "correct horse battery",
    }

    assert find_secrets(texts, secrets) == [
        ("a", "pw-abc..."),
        ("c", "eyJ1aW..."),
        ("d", "correc..."),
    ]


def test_no_password_or_token_in_any_log(
    secret_registry, log_collector, tmp_path_factory
):
    if len(secret_registry.secrets) < ENOUGH:
        pytest.skip("only meaningful after the whole suite")

    texts = logs_of_the_run(
        secret_registry, log_collector, tmp_path_factory.getbasetemp()
    )

    # The search had something to search: audit logs and log records (and
    # the real servers' standard error, when their tests ran).
    assert sum(1 for where in texts if where.endswith("log.json")) > 50
    assert "POST /api/auth/login 200" in texts["log records"]
    assert find_secrets(texts, secret_registry.secrets) == []
    assert [where for where, text in texts.items() if "$argon2" in text] == []
