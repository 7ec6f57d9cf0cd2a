"""The checks in the technician's language: every catalogue message in both languages;
the checks' progress sentences, summaries and the keyboard screen in French hold no
English sentence (the evidence stays as it is: data, not sentences).

A French text is proven English-free against the catalogue itself: no multi-word
fragment of an English template (one that no French template also holds) may appear.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from string import Formatter
from typing import Any

import pytest

from checks.health import run_health_checks
from checks.health.cpu import StressRun, StressSample, evaluate_stress, run_stress
from checks.health.keyboard import KEY_ENTER, LAYOUTS, evdev_layout
from checks.health.memory import pattern_test
from checks.health.model import CheckContext
from checks.health.runner import run_checks
from checks.health.storage import evaluate_smart, run_self_test
from checks.i18n import LANGS, MESSAGES, Lang, Msg
from checks.policy import load_default_policy
from checks.probe.model import HardwareReport, NvmeHealth, Smart, StorageDevice
from checks.source import CaptureSource, LiveSource
from checks.system import CommandResult
from tests.conftest import CaptureFactory
from tests.test_guided_keyboard import AT_KEYBOARD, PtyScreen, event, event_fifo

POLICY = load_default_policy()


def _fields(template: str) -> set[str]:
    return {name for _lit, name, _spec, _conv in Formatter().parse(template) if name}


def _english_fragments() -> set[str]:
    """Runs of two or more words from the English templates, minus those a French
    template also holds (SMART, Wi-Fi, "MHz" are the same in both)."""
    french = " ".join(entry["fr"] for entry in MESSAGES.values())
    out: set[str] = set()
    for entry in MESSAGES.values():
        if entry["en"] == entry["fr"]:
            continue
        for literal, *_ in Formatter().parse(entry["en"]):
            for piece in re.split(r"[^\w' /-]+", literal):
                piece = piece.strip(" -/")
                if " " in piece and len(piece) >= 6 and piece not in french:
                    out.add(piece)
    return out


ENGLISH = _english_fragments()


def english_in(text: str) -> list[str]:
    return sorted(f for f in ENGLISH if f in text)


def test_the_fragment_finder_sees_english() -> None:
    """The check below is not empty: known English sentences are caught."""
    assert "told apart" in " ".join(english_in("left/right modifiers told apart"))
    assert english_in("CPU stress 3/15 s") == ["CPU stress"]
    assert english_in("sda: SMART short self-test, 90 % left") == ["SMART short self-test"]
    assert english_in("charge du processeur 3/15 s, 55 °C") == []


@pytest.mark.parametrize("message_id", sorted(MESSAGES))
def test_every_message_has_both_languages(message_id: str) -> None:
    entry = MESSAGES[message_id]
    assert set(entry) == set(LANGS)
    for lang in LANGS:
        assert entry[lang].strip(), lang
        _fields(entry[lang])  # a malformed template raises here
    # a check's French sentence never asks for a parameter its English one is not
    # given (the bench run's messages are given both sets: they word steps their own way)
    if not message_id.startswith("run."):
        assert _fields(entry["fr"]) <= _fields(entry["en"]), message_id


# --- the progress sentences of the timed checks ---------------------------------------


class Smartctl:
    """smartctl's answers to a short self-test: started, twice in progress, passed."""

    def __init__(self) -> None:
        self.polls = [90, 20, None]

    def __call__(self, argv: list[str], **_kw: object) -> CommandResult:
        import json

        if "-c" in argv:
            left = self.polls.pop(0)
            value = 0 if left is None else 0xF0 | (left // 10)
            doc: dict[str, Any] = {
                "ata_smart_data": {
                    "self_test": {"status": {"value": value, "remaining_percent": left}}
                }
            }
        elif "selftest" in argv:
            doc = {
                "ata_smart_self_test_log": {
                    "standard": {
                        "table": [{"status": {"passed": True, "string": "Completed without error"}}]
                    }
                }
            }
        else:
            doc = {}
        return CommandResult(tuple(argv), 0, json.dumps(doc).encode(), b"", 0.0)


def _progress_of_every_timed_check(lang: Lang) -> list[str]:
    seen: list[str] = []
    drive = StorageDevice("sda", "/dev/sda", kind="ssd", smart=Smart(available=True))
    run_self_test(
        drive, run=Smartctl(), limit_s=100, progress=seen.append, sleep=lambda _s: None, lang=lang
    )
    run_stress(
        0.3, source=LiveSource("/"), sample_s=0.1, workers=1, progress=seen.append, lang=lang
    )
    pattern_test(16, 2.0, available_bytes=lambda: 2**30, progress=seen.append, lang=lang)
    return seen


def test_progress_sentences_are_french_in_a_french_run() -> None:
    seen = _progress_of_every_timed_check("fr")
    text = "\n".join(seen)
    assert "sda : auto-test SMART court, reste 90 %" in seen
    assert "charge du processeur" in text and "test de la mémoire : 5/5 motifs" in text
    assert english_in(text) == [], text


def test_progress_sentences_unchanged_in_english() -> None:
    seen = _progress_of_every_timed_check("en")
    assert seen[:2] == [
        "sda: SMART short self-test, 90 % left",
        "sda: SMART short self-test, 20 % left",
    ]
    assert any(re.fullmatch(r"CPU stress \d+/0 s(, \d+ °C)?(, \d+ MHz)?", s) for s in seen)
    assert seen[-1] == "memory pattern test: 5/5 patterns"


def test_waiting_for_a_background_check_is_said_in_french(make_capture: CaptureFactory) -> None:
    from checks.health.model import CheckSpec, Verdict
    from checks.health.runner import plan_checks
    from checks.i18n import msg

    seen: list[str] = []
    ctx = CheckContext(
        HardwareReport(), CaptureSource(make_capture({})), POLICY, lang="fr", progress=seen.append
    )
    slow = CheckSpec(
        "storage.self_test",
        "storage",
        lambda _c, _t: Verdict("pass", msg("memory.ok", gib=8)),
        background=True,
    )
    run_checks(plan_checks([slow], ctx), ctx)
    assert seen == ["attente de storage.self_test"]


# --- summaries that carried English words inside a French sentence --------------------


def _nvme(warning: int) -> StorageDevice:
    health = NvmeHealth(warning, 0, 1, 100, 10)
    smart = Smart(available=True, passed=True, nvme=health, smartctl_exit_status=0)
    return StorageDevice("nvme0n1", "/dev/nvme0n1", kind="nvme", smart=smart)


@pytest.mark.parametrize(
    ("verdict_of", "french"),
    [
        pytest.param(
            lambda: evaluate_smart(_nvme(0b1001), POLICY),
            "réserve disponible sous le seuil, support en lecture seule",
            id="nvme-critical-warning",
        ),
        pytest.param(
            lambda: evaluate_smart(
                StorageDevice(
                    "sdb",
                    "/dev/sdb",
                    smart=Smart(
                        available=False,
                        unavailable_reason="/dev/sdb: Unknown USB bridge [0x46f4:0x0001 (0x000)]",
                        smartctl_exit_status=1,
                    ),
                ),
                POLICY,
            ),
            "adaptateur USB",
            id="no-smart-usb-bridge",
        ),
        pytest.param(
            lambda: evaluate_smart(
                StorageDevice(
                    "sdc",
                    "/dev/sdc",
                    smart=Smart(
                        available=False,
                        unavailable_reason="SMART not supported by the device",
                        smartctl_exit_status=4,
                    ),
                ),
                POLICY,
            ),
            "le disque ne gère pas SMART",
            id="no-smart-unsupported",
        ),
        pytest.param(
            lambda: evaluate_stress(StressRun(15, 4, [StressSample(1, 60, 2000)], 2400, 3), POLICY),
            "3 épisodes de bridage thermique",
            id="throttle-events",
        ),
        pytest.param(
            lambda: evaluate_stress(
                StressRun(15, 4, [StressSample(1, 60, 900), StressSample(2, 60, 900)], 2400),
                POLICY,
            ),
            "900 sur 2400 MHz",
            id="throttled-clock",
        ),
    ],
)
def test_summaries_are_wholly_french(verdict_of: object, french: str) -> None:
    verdict = verdict_of()  # type: ignore[operator]
    text = verdict.message.render("fr")
    assert french in text
    assert english_in(text) == [], text
    assert verdict.message.render("en") != text


def test_a_missing_self_test_log_is_said_in_french() -> None:
    class NoLog(Smartctl):
        def __call__(self, argv: list[str], **kw: object) -> CommandResult:
            if "selftest" in argv:
                return CommandResult(tuple(argv), 0, b"{}", b"", 0.0)
            return super().__call__(argv, **kw)

    drive = StorageDevice("sda", "/dev/sda", kind="ssd", smart=Smart(available=True))
    verdict = run_self_test(drive, run=NoLog(), limit_s=100, sleep=lambda _s: None)
    assert verdict.evidence["result"] == "no self-test log entry"
    assert "aucune entrée dans le journal d'auto-test" in verdict.message.render("fr")
    assert english_in(verdict.message.render("fr")) == []


# --- the keyboard screen --------------------------------------------------------------


def _french_keyboard(
    source: LiveSource, technician: object
) -> tuple[bytes, Msg, dict[str, object]]:
    screen = PtyScreen(cols=160)
    outcome = screen.run(
        technician,  # type: ignore[arg-type]
        lambda term: run_health_checks(
            HardwareReport(),
            source,
            POLICY,
            only=["keyboard"],
            unattended=False,
            terminal=term,
            lang="fr",
        ),
    )
    [result] = outcome.results
    return screen.screen(), result.verdict.message, result.verdict.evidence


def test_keyboard_screen_in_french_through_the_terminal(tmp_path: Path) -> None:
    """No input event device: the terminal mode says what it cannot see, in French."""

    def technician(screen: PtyScreen) -> None:
        screen.wait_for(b"appuyez une fois sur chaque touche")
        for _ in range(3):
            screen.type(b"\r")
            time.sleep(0.05)

    shown, message, evidence = _french_keyboard(LiveSource(tmp_path, run_tools=False), technician)
    text = shown.decode("utf-8", "replace")
    assert "distinction des modificateurs gauche et droit" in text
    assert " Entrée " in text and " Maj " in text and " Espace " in text and " Suppr " in text
    assert english_in(text) == [], english_in(text)
    assert not re.search(r" (Enter|Shift|Space|Del|Home|PgUp|Bksp) ", text)
    # the evidence stays English data; the verdict names the keys as drawn
    assert "left/right modifiers told apart" in evidence["not_testable_here"]  # type: ignore[operator]
    assert "Del" in evidence["keys_missing"]  # type: ignore[operator]
    french = message.render("fr")
    assert " Suppr " in french and " Del " not in french
    assert " Del " in message.render("en")


def test_keyboard_screen_in_french_on_kernel_events(make_capture: CaptureFactory) -> None:
    root = make_capture({"sys/class/input/event3/device/capabilities/key": AT_KEYBOARD})
    writer = event_fifo(root / "dev" / "input" / "event3")
    skipped = {"F7", "Caps", "RShift", "Del"}

    def technician(screen: PtyScreen) -> None:
        screen.wait_for(b"appuyez une fois sur chaque touche")
        for row in evdev_layout(LAYOUTS["fr"]):
            for key in row:
                if key.label not in skipped and key.code is not None and key.code != KEY_ENTER:
                    os.write(writer, event(key.code, 1) + event(key.code, 0))
                    time.sleep(0.005)
        for _ in range(3):
            os.write(writer, event(KEY_ENTER, 1) + event(KEY_ENTER, 0))
            time.sleep(0.05)

    try:
        shown, message, evidence = _french_keyboard(LiveSource(root, run_tools=False), technician)
    finally:
        os.close(writer)
    text = shown.decode("utf-8", "replace")
    assert "Fn (géré par le micrologiciel de l'ordinateur)" in text
    assert " Maj D " in text and " Verr. Maj " in text and " Impr. écran " in text
    assert english_in(text) == [], english_in(text)
    assert evidence["keys_missing"] == ["F7", "Caps", "RShift", "Del"]
    assert evidence["not_testable_here"] == ["Fn (handled by the laptop's firmware)"]
    total = evidence["keys_total"]
    assert message.render("fr") == (
        f"4 touches sur {total} n'ont pas répondu : F7 Verr. Maj Maj D Suppr."
    )
    assert message.render("en") == f"4 of {total} keys did not answer: F7 Caps RShift Del."


def test_touchpad_verdict_names_zones_and_buttons_in_french() -> None:
    from checks.health.guided import PointerResult
    from checks.i18n import msg

    result = PointerResult({(0, 0)}, {"left"}, 3, "gave-up")
    missing = msg("touchpad.missing", missing=result.missing())
    assert "zone 3,3" in missing.render("fr") and "bouton droite" in missing.render("fr")
    assert "right button" in missing.render("en")
    assert english_in(missing.render("fr")) == []


def test_kit_items_are_named_in_french() -> None:
    from checks.i18n import msg
    from checks.kit import Kit, _items

    kit = Kit({"usb_id": "046d:c077"}, {"usb_id": "12d1:1506"}, True, [], True, [])
    said = msg("kit.ok", items=_items(kit))
    assert said.render("fr") == "Kit complet : souris 046d:c077, housse, clé 4G 12d1:1506."
    assert said.render("en") == "Kit complete: mouse 046d:c077, sleeve, 4G key 12d1:1506."
