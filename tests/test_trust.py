"""Trust is explicit: `weee verify` and `weee certificate` accept a signature only from a
known bench key (this bench's own, a trusted-benches file, --public-key, the programme
database's registry). Two real benches made with `weee bench init`, their records signed
by their own keys, checked through the real command line (and a real `weee serve`)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_documents import pdf_pages, pdf_text
from test_record_samples import sample_record

from agent.cli import main
from agent.errors import EXIT_FAILED, EXIT_OK, EXIT_REFUSED, EXIT_UNAVAILABLE, EXIT_USAGE
from agent.run.localserver import free_port
from checks.system import run_command
from inventory.benchkeys import Bench, load_bench
from inventory.signing import signed_file_bytes
from inventory.trust import TrustError, TrustStore, check_server_url, parse_benches


@dataclass
class Benches:
    tmp: Path
    one: Bench  # "bench-1", in data dir tmp/one: the bench running the commands
    two: Bench  # "bench-2", in tmp/two: another bench, unknown to bench-1 by default
    record_one: Path  # signed by bench-1
    record_two: Path  # signed by bench-2

    @property
    def dir_one(self) -> str:
        return str(self.one.data_dir)


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output


def signed_by(bench: Bench, path: Path, number: int = 1) -> Path:
    record = {**sample_record(number), "bench": bench.record_bench()}
    path.write_bytes(signed_file_bytes(bench.sign(record)))
    return path


@pytest.fixture
def benches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Benches:
    monkeypatch.setenv("WEEE_DATA_DIR", str(tmp_path / "no-bench"))  # never this machine's
    made = []
    for name, folder in (("bench-1", "one"), ("bench-2", "two")):
        code, out = run("bench", "init", "--dir", str(tmp_path / folder), "--name", name)
        assert code == EXIT_OK, out
        made.append(load_bench(tmp_path / folder))
    one, two = made
    return Benches(
        tmp_path,
        one,
        two,
        signed_by(one, tmp_path / "record-one.json"),
        signed_by(two, tmp_path / "record-two.json"),
    )


def trusted_file(path: Path, *benches: Bench, extra: str = "") -> Path:
    entries = [
        f'[[bench]]\nname = "{b.identity.name}"\npublic_key = "{b.public_key_b64}"\n{extra}'
        for b in benches
    ]
    path.write_text("# benches whose records this machine accepts\n" + "\n".join(entries))
    return path


# -- weee verify --------------------------------------------------------------------------


def test_verify_trusts_this_benchs_own_key(benches: Benches) -> None:
    code, out = run("verify", "--dir", benches.dir_one, str(benches.record_one))
    assert code == EXIT_OK, out
    assert out.startswith(f"OK   {benches.record_one}: record ")
    assert f"signed by bench bench-1 (key {benches.one.key_id}), trusted: this bench's own key" in (
        out
    )


def test_verify_refuses_a_record_signed_by_an_unknown_key(benches: Benches) -> None:
    code, out = run("verify", "--dir", benches.dir_one, str(benches.record_two))
    assert code == EXIT_REFUSED, out
    assert out.startswith(
        f"FAIL {benches.record_two}: signed by an unknown key {benches.two.key_id}: not verified"
    )
    assert "record 00000000" not in out and "OK" not in out
    assert "known keys: this bench's own key" in out


def test_a_record_re_signed_with_a_fresh_key_is_not_verified(benches: Benches) -> None:
    """The audited defect (issue #11): bench-1's record, re-signed by a key made for the
    occasion, used to print 'OK ... certified'."""
    code, _ = run("bench", "init", "--dir", str(benches.tmp / "forger"), "--name", "bench-1")
    assert code == EXIT_OK
    forger = load_bench(benches.tmp / "forger")
    doc = json.loads(benches.record_one.read_text())
    forged = benches.tmp / "forged.json"
    forged.write_bytes(signed_file_bytes(forger.sign(doc["record"])))  # names bench-1
    code, out = run("verify", "--dir", benches.dir_one, str(forged))
    assert code == EXIT_REFUSED and f"unknown key {forger.key_id}: not verified" in out
    code, out = run(
        "certificate", "--dir", benches.dir_one, str(forged), "-o", str(benches.tmp / "x.pdf")
    )
    assert code == EXIT_REFUSED and "refusing to print" in out


@pytest.mark.parametrize(
    "source, expected",
    [
        ("trusted-file", "trusted: the trusted-benches file"),
        ("default-trusted-file", "trusted: the trusted-benches file"),
        ("public-key-file", "trusted: the key given with --public-key"),
        ("public-key-base64", "trusted: the key given with --public-key"),
    ],
)
def test_verify_trusts_another_bench_named_by_the_user(
    benches: Benches, source: str, expected: str
) -> None:
    args = ["verify", "--dir", benches.dir_one, str(benches.record_two)]
    if source == "trusted-file":
        args += ["--trusted", str(trusted_file(benches.tmp / "benches.toml", benches.two))]
    elif source == "default-trusted-file":
        trusted_file(benches.one.data_dir / "trusted-benches.toml", benches.two)
    elif source == "public-key-file":
        args += ["--public-key", str(benches.two.public_key_path)]
    else:
        args += ["--public-key", benches.two.public_key_b64]
    code, out = run(*args)
    assert code == EXIT_OK, out
    assert out.startswith("OK") and expected in out
    if "file" in expected:
        assert f"signed by bench bench-2 (key {benches.two.key_id})" in out


def test_allow_unknown_signer_shows_the_content_still_not_verified(benches: Benches) -> None:
    args = ["verify", "--dir", benches.dir_one, str(benches.record_two), "--allow-unknown-signer"]
    code, out = run(*args)
    assert code == EXIT_REFUSED, out
    assert f"signed by an unknown key {benches.two.key_id}: not verified" in out
    assert "NOT VERIFIED, shown because of --allow-unknown-signer: record " in out
    assert "the record says bench 'bench-2', but nothing proves it" in out
    code, out = run(*args, "--json")
    verdict = json.loads(out.splitlines()[0])
    assert code == EXIT_REFUSED
    assert verdict["ok"] is False and verdict["intact"] is True
    assert verdict["record"]["bench"]["name"] == "bench-2"
    assert verdict["trust"] == {
        "trusted": False,
        "key_id": benches.two.key_id,
        "bench": None,
        "source": None,
        "reason": f"signed by an unknown key {benches.two.key_id}: not verified",
    }


def test_verify_json_carries_the_trust_verdict(benches: Benches) -> None:
    code, out = run(
        "verify",
        "--dir",
        benches.dir_one,
        "--json",
        str(benches.record_one),
        str(benches.record_two),
    )
    one, two = (json.loads(line) for line in out.splitlines()[:2])
    assert code == EXIT_REFUSED
    assert one["ok"] and one["trust"]["trusted"] and one["trust"]["bench"] == "bench-1"
    assert one["trust"]["source"].startswith("this bench's own key")
    assert not two["ok"] and two["record"] is None  # not shown without the flag
    assert two["trust"]["reason"].startswith("signed by an unknown key")


def test_a_broken_record_fails_before_its_signer_is_judged(benches: Benches) -> None:
    data = benches.record_one.read_bytes().replace(b'"W62ABC12"', b'"W62ABC13"')
    benches.record_one.write_bytes(data)
    code, out = run(
        "verify", "--dir", benches.dir_one, str(benches.record_one), str(benches.record_two)
    )
    assert code == EXIT_FAILED, out  # a tampered file outranks an unknown signer
    assert "altered after signing" in out


@pytest.mark.parametrize(
    "content, message",
    [
        ("[[bench]\n", "is not valid TOML"),
        ('[[bench]]\nname = "x"\npublic_key = "bm90IGEga2V5"\n', "not the base64 of a 32-byte"),
        ('[[bench]]\npublic_key = "AAAA"\n', "needs a name and a public_key"),
        ("[[bench]]\nname = 'x'\npublic_key = 'K'\ncolour = 'red'\n", "unknown field(s) colour"),
        ("[benches]\n", "expected only [[bench]] tables"),
    ],
)
def test_a_malformed_trusted_file_is_a_usage_error(
    benches: Benches, content: str, message: str
) -> None:
    path = benches.tmp / "bad.toml"
    path.write_text(content)
    code, out = run(
        "verify", "--dir", benches.dir_one, "--trusted", str(path), str(benches.record_one)
    )
    assert code == EXIT_USAGE and message in out, out


def test_a_trusted_file_whose_key_id_does_not_match_its_key_is_refused(benches: Benches) -> None:
    path = trusted_file(
        benches.tmp / "b.toml", benches.two, extra=f'key_id = "{benches.one.key_id}"\n'
    )
    code, out = run(
        "verify", "--dir", benches.dir_one, "--trusted", str(path), str(benches.record_two)
    )
    assert code == EXIT_USAGE and "does not match its public_key" in out


def test_a_missing_named_trusted_file_is_a_usage_error(benches: Benches) -> None:
    missing = benches.tmp / "nope.toml"
    code, out = run(
        "verify", "--dir", benches.dir_one, "--trusted", str(missing), str(benches.record_one)
    )
    assert code == EXIT_USAGE and "cannot read the trusted-benches file" in out


def test_an_unreachable_server_is_a_clear_error_without_traceback(benches: Benches) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    done = run_command(
        [
            str(Path(sys.executable).with_name("weee")),
            "verify",
            "--dir",
            benches.dir_one,
            "--server",
            url,
            str(benches.record_one),
        ],
        timeout=60,
    )
    error = done.stderr_text
    assert done.returncode == EXIT_UNAVAILABLE, error
    assert f"cannot reach the programme database at {url} to fetch its bench keys: " in error
    assert "Connection refused" in error and "Traceback" not in error


def test_an_inactive_bench_of_the_registry_is_not_trusted(benches: Benches) -> None:
    answer = {
        "benches": [
            {
                "name": "bench-2",
                "key_id": benches.two.key_id,
                "public_key": benches.two.public_key_b64,
                "active": False,
            }
        ]
    }
    store = TrustStore(parse_benches(answer, "https://db.example.org"))
    verdict = store.judge(benches.two.public_key)
    assert not verdict.trusted and verdict.bench == "bench-2"
    assert "lists as inactive: not verified" in verdict.reason
    answer["benches"][0]["key_id"] = benches.one.key_id
    with pytest.raises(TrustError, match="key_id does not match"):
        parse_benches(answer, "https://db.example.org")


# -- weee certificate -----------------------------------------------------------------------


def test_certificate_names_the_trusted_bench_and_its_trust_source(benches: Benches) -> None:
    out_pdf = benches.tmp / "one.pdf"
    code, out = run(
        "certificate", "--dir", benches.dir_one, str(benches.record_one), "-o", str(out_pdf)
    )
    assert code == EXIT_OK, out
    text = pdf_text(out_pdf)
    assert f"Digitally signed by bench bench-1 with Ed25519 key {benches.one.key_id}" in text
    assert "a key known from this bench's own key" in text
    assert "NOT VERIFIED" not in text


def test_certificate_refuses_an_unknown_signer(benches: Benches) -> None:
    out_pdf = benches.tmp / "two.pdf"
    code, out = run(
        "certificate", "--dir", benches.dir_one, str(benches.record_two), "-o", str(out_pdf)
    )
    assert code == EXIT_REFUSED, out
    assert f"signed by an unknown key {benches.two.key_id}: not verified" in out
    assert "--allow-unknown-signer" in out and not out_pdf.exists()


def test_certificate_of_an_unknown_signer_carries_a_not_verified_band_on_its_pages(
    benches: Benches,
) -> None:
    # two records of bench-2 and one of bench-1 sharing bench-2's first record id: the
    # verdicts belong to the files, not to the record ids
    second = signed_by(benches.two, benches.tmp / "record-two-b.json", number=2)
    out_pdf = benches.tmp / "mixed.pdf"
    args = [str(benches.record_two), str(benches.record_one), str(second), "-o", str(out_pdf)]
    code, out = run("certificate", "--dir", benches.dir_one, "--allow-unknown-signer", *args)
    assert code == EXIT_OK, out
    assert pdf_pages(out_pdf) == 3
    band = f"NOT VERIFIED: signed by an unknown key {benches.two.key_id}"
    for page in (1, 3):
        text = pdf_text(out_pdf, page)
        assert text.count(band) == 2, text  # the band across the top and the page's banner
        assert "Digitally signed" not in text
        # what the unknown signer's record claims is never shown as a green result
        assert "RESULT: CERTIFIED" not in text and "RESULT: NOT VERIFIED" in text
        assert "which is not a known bench key, so nothing proves which bench wrote" in text
    trusted = pdf_text(out_pdf, 2)
    assert "NOT VERIFIED" not in trusted and "Digitally signed by bench bench-1" in trusted


def test_the_french_certificate_of_an_unknown_signer_says_non_verifie(benches: Benches) -> None:
    out_pdf = benches.tmp / "fr.pdf"
    args = ["certificate", "--dir", benches.dir_one, str(benches.record_two), "-o", str(out_pdf)]
    code, out = run(*args, "--allow-unknown-signer", "--lang", "fr")
    assert code == EXIT_OK, out
    text = pdf_text(out_pdf)
    assert f"NON VÉRIFIÉ : signé par une clé inconnue {benches.two.key_id}" in text
    assert "Signé numériquement" not in text


def test_a_summary_with_an_unknown_signer_has_the_band_on_every_page(benches: Benches) -> None:
    paths = [str(signed_by(benches.one, benches.tmp / f"r{n}.json", n)) for n in range(1, 30)]
    paths.append(str(benches.record_two))
    out_pdf = benches.tmp / "summary.pdf"
    base = ["certificate", "--dir", benches.dir_one, "--summary"]
    code, out = run(*base, *paths, "-o", str(out_pdf), "--allow-unknown-signer")
    assert code == EXIT_OK, out
    pages = pdf_pages(out_pdf)
    assert pages >= 2
    for page in range(1, pages + 1):
        assert "NOT VERIFIED: 1 record(s) signed by an unknown key" in pdf_text(out_pdf, page)
    assert pdf_text(out_pdf).count("NOT VERIFIED: unknown signing key") == 1  # its line
    code, out = run(*base, *paths[:-1], "-o", str(benches.tmp / "trusted.pdf"))
    assert code == EXIT_OK and "NOT VERIFIED" not in pdf_text(benches.tmp / "trusted.pdf")


# -- the programme database's registry, over a real `weee serve` ----------------------------


@pytest.fixture(scope="module")
def server() -> Iterator[object]:
    from inventory.server.devserver import weee_serve

    with weee_serve(workers=1) as live:
        yield live


@pytest.mark.slow
def test_verify_and_certificate_trust_the_benches_registered_with_the_server(
    server: object, benches: Benches
) -> None:
    from inventory.server.devserver import LiveServer

    assert isinstance(server, LiveServer)
    name = f"bench-2-{benches.two.key_id}"  # one server for the module: a name per test
    server.add_bench(name, benches.two.public_key_b64)
    record = str(benches.record_two)
    code, out = run("verify", "--dir", benches.dir_one, "--server", server.url, record)
    assert code == EXIT_OK, out
    assert f"signed by bench {name} (key {benches.two.key_id}), trusted: the programme " in out
    assert f"database at {server.url}" in out
    out_pdf = benches.tmp / "registered.pdf"
    args = ["certificate", "--dir", benches.dir_one, "--server", server.url, record]
    code, out = run(*args, "-o", str(out_pdf))
    assert code == EXIT_OK, out
    text = pdf_text(out_pdf)
    assert f"Digitally signed by bench {name}" in text and server.url in text
    # bench-1 is not registered: the server's list does not make it trusted elsewhere
    empty = str(benches.tmp / "empty")
    code, out = run("verify", "--dir", empty, "--server", server.url, str(benches.record_one))
    assert code == EXIT_REFUSED and f"unknown key {benches.one.key_id}" in out
    # a bench the database deactivates is no longer trusted
    server.manage(
        "shell",
        "-c",
        f"from inventory.server.benches.models import Bench; "
        f"Bench.objects.filter(name='{name}').update(active=False)",
    )
    code, out = run("verify", "--dir", benches.dir_one, "--server", server.url, record)
    assert code == EXIT_REFUSED, out
    assert f"of bench {name}, which the programme database at {server.url} lists as inactive" in out


def test_label_prints_only_records_of_known_benches(benches: Benches) -> None:
    args = [
        "label",
        "--dir",
        benches.dir_one,
        str(benches.record_two),
        "-o",
        str(benches.tmp / "x.pdf"),
    ]
    code, out = run(*args)
    assert code == EXIT_REFUSED and f"unknown key {benches.two.key_id}: not verified" in out
    assert "trusted-benches.toml or give --public-key" in out
    code, out = run(*args, "--public-key", benches.two.public_key_b64)
    assert code == EXIT_USAGE and "has no asset id yet" in out  # past the trust check


@pytest.mark.parametrize(
    "url, accepted",
    [
        ("https://db.example.org", True),
        ("https://db.example.org:8443/", True),
        ("http://127.0.0.1:8000", True),
        ("http://localhost:8000", True),
        ("http://[::1]:8000", True),
        ("http://db.example.org", False),  # keys that decide trust never come over plain http
        ("http://192.168.1.10:8000", False),
        ("db.example.org", False),
        ("ftp://db.example.org", False),
    ],
)
def test_server_keys_come_over_https_or_from_this_machine(url: str, accepted: bool) -> None:
    if accepted:
        check_server_url(url)
    else:
        with pytest.raises(TrustError, match="https"):
            check_server_url(url)
