"""The technician's screen: what it shows, in French and in English."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from agent.run.confirm import Confirmation, EraseDrive, EraseRequest, LeftOut, Prompt
from agent.run.view import Verdict
from agent.tui import BenchScreen
from agent.tui.bigtext import big_lines
from checks.i18n import Lang


def _screen(lang: Lang) -> tuple[BenchScreen, Console]:
    console = Console(file=io.StringIO(), width=140, record=True, force_terminal=False)
    return BenchScreen(lang=lang, console=console, screen=False), console


def _text(screen: BenchScreen, console: Console) -> str:
    console.print(screen.render())
    return console.export_text()


def _drive(screen: BenchScreen) -> None:
    screen.plan(["probe", "checks", "erase", "record"], {})
    screen.identity(
        {
            "manufacturer": "LENOVO",
            "model": "ThinkPad X1 Carbon 5th",
            "serial": "PF0XXXXX",
            "device_id": "wd1-40ec1117",
        }
    )
    screen.step_started("probe")
    screen.step_finished("probe", "done", "LENOVO ThinkPad X1 Carbon 5th")
    screen.step_started("erase")
    screen.step_progress("erase", 0.42, 95.0, "/dev/sda pass 1/1 42%")


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("en", ["Hardware inventory", "done", "Data erasure", "running", "1:35", "waiting"]),
        ("fr", ["Inventaire du matériel", "fait", "Effacement des données", "en cours"]),
    ],
)
def test_it_shows_the_laptop_and_each_step(lang: Lang, words: list[str]) -> None:
    screen, console = _screen(lang)
    _drive(screen)
    text = _text(screen, console)
    screen.close()
    assert "ThinkPad X1 Carbon 5th" in text and "PF0XXXXX" in text
    assert "/dev/sda pass 1/1 42%" in text
    for word in words:
        assert word in text


def test_the_verdict_and_asset_id_are_in_block_letters() -> None:
    screen, console = _screen("fr")
    _drive(screen)
    screen.verdict(
        Verdict(
            verdict="certified",
            exit_code=0,
            asset_id="W-000042",
            device_id="wd1-40ec1117",
            record_id="r1",
        )
    )
    text = _text(screen, console)
    screen.close()
    for row in big_lines("W-000042"):
        assert row in text
    for row in big_lines("PRÊT : CERTIFIÉ"):
        assert row.strip() in text
    assert "N° D'INVENTAIRE" in text


def test_without_an_asset_id_it_says_the_record_waits_for_the_sync() -> None:
    screen, console = _screen("en")
    screen.verdict(
        Verdict(
            verdict="failed",
            exit_code=1,
            asset_id=None,
            device_id="wd1-40ec1117",
            record_id="r1",
            reasons=["erasures[0] (/dev/sda) is 'failed'"],
        )
    )
    text = _text(screen, console)
    screen.close()
    assert "asset ID after sync" in text
    assert "erasures[0] (/dev/sda) is 'failed'" in text


def test_block_letters_fold_french_accents_and_keep_five_rows() -> None:
    rows = big_lines("ÉCHEC 1")
    assert len(rows) == 5
    assert rows == big_lines("ECHEC 1")


def _log(lang: Lang) -> str:
    """The one-line log (serial console, --screen plain) of a short failed run."""
    from agent.run.view import PlainView

    stream = io.StringIO()
    view = PlainView(stream, lang=lang, interval_s=0.0)
    view.plan(["probe", "erase"], {"probe": "done"})
    view.identity({"manufacturer": "LENOVO", "memory": "8 GiB"})
    view.step_started("erase")
    view.step_progress("erase", 0.5, 65.0, "/dev/sda")
    view.step_finished("erase", "failed", "/dev/sda")
    view.message("disque", level="warning")
    view.verdict(
        Verdict(
            verdict="failed",
            exit_code=1,
            asset_id="W-000042",
            device_id="wd1",
            record_id="r1",
            record_path="/spool/r1.json",
            label_path="/labels/r1.txt",
        )
    )
    return stream.getvalue()


def test_the_plain_log_keeps_its_english_lines() -> None:
    # logs, the VM tests and the live image's console read these lines
    assert _log("en").splitlines() == [
        "weee-run: steps: probe[done] > erase[pending]",
        "weee-run: laptop: manufacturer=LENOVO, memory=8 GiB",
        "weee-run: erase: started (Data erasure)",
        "weee-run: erase:  50.0% ETA 1:05 /dev/sda",
        "weee-run: erase: failed - /dev/sda",
        "weee-run: WARNING: disque",
        "weee-run: VERDICT: failed (NOT CERTIFIED)",
        "weee-run: asset ID: W-000042",
        "weee-run: record: /spool/r1.json",
        "weee-run: label: /labels/r1.txt",
    ]


def test_the_plain_log_in_french() -> None:
    assert _log("fr").splitlines() == [
        "weee-run: étapes : Inventaire du matériel [fait] > Effacement des données [en attente]",
        "weee-run: ordinateur : Fabricant=LENOVO, Mémoire=8 GiB",
        "weee-run: Effacement des données : commencé",
        "weee-run: Effacement des données :  50.0% reste 1:05 /dev/sda",
        "weee-run: Effacement des données : ÉCHEC - /dev/sda",
        "weee-run: ATTENTION : disque",
        "weee-run: VERDICT : NON CERTIFIÉ",
        "weee-run: n° d'inventaire : W-000042",
        "weee-run: fiche : /spool/r1.json",
        "weee-run: étiquette : /labels/r1.txt",
    ]


def _confirm_request(mode: str) -> EraseRequest:
    drives = (
        EraseDrive("/dev/nvme0n1", "SAMSUNG MZVLB256", "S4DXNF0M", 256_060_514_304, "nvme-crypto"),
        EraseDrive("/dev/sda", "WDC WD5000LPVX", "WX91A", 500_107_862_016, "overwrite"),
    )
    left_out = (LeftOut("/dev/sdb", "SanDisk Cruzer", "4C53", "the boot medium (/)"),)
    return EraseRequest(mode, 30, drives, left_out)


@pytest.mark.parametrize(
    ("lang", "mode", "words"),
    [
        ("en", "type", ["Type ERASE to go on", "> ERA█", "256.1 GB", "Not erased:"]),
        ("en", "countdown", ["Erasing in 27 s: press any key to stop", "500.1 GB"]),
        ("fr", "type", ["Tapez ERASE pour continuer", "256,1 Go", "Non effacés"]),
        ("fr", "countdown", ["Effacement dans 27 s : appuyez sur une touche", "500,1 Go"]),
    ],
)
def test_the_confirmation_lists_every_drive_before_anything_is_erased(
    lang: Lang, mode: str, words: list[str]
) -> None:
    screen, console = _screen(lang)
    _drive(screen)
    request = _confirm_request(mode)
    screen.erase_prompt(Prompt(request, typed="ERA", left_s=27 if mode == "countdown" else None))
    text = _text(screen, console)
    for word in [*words, "S4DXNF0M", "SAMSUNG MZVLB256", "WX91A", "WDC WD5000LPVX"]:
        assert word in text, text
    assert "/dev/sdb (SanDisk Cruzer 4C53)" in text and "the boot medium (/)" in text
    if mode == "countdown":
        for row in big_lines("27"):
            assert row in text
    # decided: the question goes, the outcome stays in the messages
    screen.erase_prompt(Prompt(request, outcome=Confirmation(mode, False, "key")))
    console.file = io.StringIO()
    text = _text(screen, console)
    screen.close()
    assert "S4DXNF0M" not in text
    assert ("stopped: nothing is erased" if lang == "en" else "arrêté : rien n'est effacé") in text
