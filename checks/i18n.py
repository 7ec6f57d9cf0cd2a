"""French and English messages for verdicts, repairs and the guided checks.

Not all technicians read English, and the programme database shows both languages, so
every verdict carries a :class:`Msg` (a message id and its parameters) rendered in both
languages. The language of the terminal output follows the POSIX locale variables
(``LC_ALL`` over ``LC_MESSAGES`` over ``LANG``) unless ``--lang`` says otherwise. A plain
dict catalogue is enough for two languages and keeps every sentence reviewable in one
place; numbers get a decimal comma in French.
"""

# Sentences stay whole on one line so that a translator reads each one at a glance.
# ruff: noqa: E501

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Lang = Literal["en", "fr"]
LANGS: tuple[Lang, ...] = ("en", "fr")


def detect_lang(env: Mapping[str, str] | None = None) -> Lang:
    """The language the locale asks for: the first set of LC_ALL, LC_MESSAGES, LANG."""
    env = os.environ if env is None else env
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(var, "")
        if value:
            return "fr" if value.lower().startswith("fr") else "en"
    return "en"


def _fmt(value: Any, lang: Lang) -> str:
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        text = f"{value:.1f}".rstrip("0").rstrip(".") if value != int(value) else f"{value:.0f}"
        return text.replace(".", ",") if lang == "fr" else text
    if isinstance(value, Msg):
        return value.render(lang)
    if isinstance(value, list | tuple):
        return ", ".join(_fmt(v, lang) for v in value)
    return str(value)


@dataclass(frozen=True)
class Msg:
    """A message id with its parameters: rendered late, in any language."""

    id: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def render(self, lang: Lang) -> str:
        return t(self.id, lang, **self.params)

    def both(self) -> dict[str, str]:
        return {lang: self.render(lang) for lang in LANGS}


@dataclass(frozen=True)
class Rendered(Msg):
    """A message read back already rendered in every language (a journalled check result):
    its parameters are gone, its sentences are kept."""

    texts: Mapping[str, str] = field(default_factory=dict)

    def render(self, lang: Lang) -> str:
        return self.texts.get(lang) or self.texts.get("en") or self.id


def msg(id: str, **params: Any) -> Msg:
    if id not in MESSAGES:
        raise KeyError(f"no message {id!r} in the catalogue")
    return Msg(id, params)


def t(id: str, lang: Lang, **params: Any) -> str:
    entry = MESSAGES[id]
    template = entry.get(lang) or entry["en"]
    return template.format(**{k: _fmt(v, lang) for k, v in params.items()})


# Message catalogue: id -> {lang: template}. Keep each verdict to one sentence.
MESSAGES: dict[str, dict[Lang, str]] = {
    # --- runner ---
    "skip.unattended": {
        "en": "Skipped: needs a technician (unattended run).",
        "fr": "Ignoré : demande un technicien (exécution sans surveillance).",
    },
    "skip.no_terminal": {
        "en": "Skipped: needs an interactive terminal.",
        "fr": "Ignoré : demande un terminal interactif.",
    },
    "skip.capture": {
        "en": "Skipped: needs the live machine, not a capture.",
        "fr": "Ignoré : demande la machine elle-même, pas une capture.",
    },
    "skip.tool": {
        "en": "Skipped: {tool} is not installed.",
        "fr": "Ignoré : {tool} n'est pas installé.",
    },
    "skip.root": {
        "en": "Skipped: needs root.",
        "fr": "Ignoré : demande les droits root.",
    },
    "skip.crashed": {
        "en": "Could not run: {error}.",
        "fr": "Impossible d'exécuter : {error}.",
    },
    "skip.no_device": {
        "en": "Skipped: no {what} found.",
        "fr": "Ignoré : aucun {what} trouvé.",
    },
    "skip.not_applicable": {
        "en": "Skipped: {why}.",
        "fr": "Ignoré : {why}.",
    },
    "skip.gave_up": {
        "en": "Skipped by the technician.",
        "fr": "Ignoré par le technicien.",
    },
    # --- storage ---
    "storage.no_smart": {
        "en": "{name}: no SMART data ({reason}), its health is unknown.",
        "fr": "{name} : pas de données SMART ({reason}), son état est inconnu.",
    },
    "storage.smart_failed": {
        "en": "{name}: the drive reports its own SMART health check as FAILED.",
        "fr": "{name} : le disque signale lui-même l'échec de son test de santé SMART.",
    },
    "storage.prefail": {
        "en": "{name}: a pre-failure SMART attribute is at or below its threshold.",
        "fr": "{name} : un attribut SMART de pré-défaillance a atteint son seuil.",
    },
    "storage.ata_fail": {
        "en": "{name}: {attribute} is {value}, above the limit of {limit}.",
        "fr": "{name} : {attribute} vaut {value}, au-delà de la limite de {limit}.",
    },
    "storage.ata_warn": {
        "en": "{name}: {attribute} is {value}, an early sign of wear (fails above {limit}).",
        "fr": "{name} : {attribute} vaut {value}, un premier signe d'usure (échec au-delà de {limit}).",
    },
    "ata.5": {"en": "reallocated sectors (5)", "fr": "secteurs réalloués (5)"},
    "ata.187": {"en": "reported uncorrectable errors (187)", "fr": "erreurs non corrigibles (187)"},
    "ata.188": {"en": "command timeouts (188)", "fr": "commandes expirées (188)"},
    "ata.196": {"en": "reallocation events (196)", "fr": "réallocations (196)"},
    "ata.197": {"en": "pending sectors (197)", "fr": "secteurs en attente (197)"},
    "ata.198": {
        "en": "offline uncorrectable sectors (198)",
        "fr": "secteurs illisibles hors ligne (198)",
    },
    "storage.nvme_critical": {
        "en": "{name}: the NVMe drive raises a critical warning ({flags}).",
        "fr": "{name} : le disque NVMe signale un avertissement critique ({flags}).",
    },
    "storage.nvme_media_errors": {
        "en": "{name}: {value} media errors, the drive has already lost data.",
        "fr": "{name} : {value} erreurs de support, le disque a déjà perdu des données.",
    },
    "storage.nvme_spare_fail": {
        "en": "{name}: available spare {spare} % is at or below its threshold of {threshold} %.",
        "fr": "{name} : réserve disponible de {spare} %, au seuil de {threshold} % ou en dessous.",
    },
    "storage.nvme_spare_warn": {
        "en": "{name}: available spare {spare} % is close to its threshold of {threshold} %.",
        "fr": "{name} : réserve disponible de {spare} %, proche du seuil de {threshold} %.",
    },
    "storage.nvme_worn_fail": {
        "en": "{name}: {used} % of the rated endurance is used up.",
        "fr": "{name} : {used} % de l'endurance prévue est consommée.",
    },
    "storage.nvme_worn_warn": {
        "en": "{name}: {used} % of the rated endurance is used.",
        "fr": "{name} : {used} % de l'endurance prévue est utilisée.",
    },
    "storage.hours_warn": {
        "en": "{name}: healthy but old, {hours} power-on hours.",
        "fr": "{name} : en bon état mais ancien, {hours} heures de fonctionnement.",
    },
    "storage.selftest_log_warn": {
        "en": "{name}: the drive's self-test log records a failed test.",
        "fr": "{name} : le journal d'auto-test du disque contient un test échoué.",
    },
    "storage.error_log_warn": {
        "en": "{name}: the drive's error log has entries.",
        "fr": "{name} : le journal d'erreurs du disque contient des entrées.",
    },
    "storage.ok": {
        "en": "{name}: SMART healthy, no error counters raised.",
        "fr": "{name} : SMART en bon état, aucun compteur d'erreur.",
    },
    "storage.ok_hours": {
        "en": "{name}: SMART healthy, no error counters raised, {hours} power-on hours.",
        "fr": "{name} : SMART en bon état, aucun compteur d'erreur, {hours} heures de fonctionnement.",
    },
    "storage.system_none": {
        "en": "No internal drive found to install the system on.",
        "fr": "Aucun disque interne trouvé pour installer le système.",
    },
    "storage.system_hdd": {
        "en": "The system drive {name} is a spinning hard disk, the programme requires an SSD.",
        "fr": "Le disque système {name} est un disque dur mécanique, le programme exige un SSD.",
    },
    "storage.system_small": {
        "en": "The system drive {name} holds {size} GB, the programme requires {min} GB.",
        "fr": "Le disque système {name} fait {size} Go, le programme en exige {min}.",
    },
    "storage.system_ok": {
        "en": "The system drive {name} is a {kind} of {size} GB.",
        "fr": "Le disque système {name} est un {kind} de {size} Go.",
    },
    "storage.selftest_unsupported": {
        "en": "{name}: the drive has no SMART self-test.",
        "fr": "{name} : le disque n'a pas d'auto-test SMART.",
    },
    "storage.selftest_external": {
        "en": "{name}: not an internal drive, no self-test.",
        "fr": "{name} : pas un disque interne, pas d'auto-test.",
    },
    "storage.selftest_policy": {
        "en": "{name}: the policy turns the self-test off.",
        "fr": "{name} : la politique désactive l'auto-test.",
    },
    "storage.selftest_start_failed": {
        "en": "{name}: the SMART short self-test could not be started ({error}).",
        "fr": "{name} : l'auto-test SMART court n'a pas pu démarrer ({error}).",
    },
    "storage.selftest_passed": {
        "en": "{name}: the SMART short self-test completed without error in {seconds} s.",
        "fr": "{name} : l'auto-test SMART court s'est terminé sans erreur en {seconds} s.",
    },
    "storage.selftest_failed": {
        "en": "{name}: the SMART short self-test failed ({result}).",
        "fr": "{name} : l'auto-test SMART court a échoué ({result}).",
    },
    "storage.selftest_timeout": {
        "en": "{name}: the SMART short self-test did not finish within {limit} s ({remaining} % left).",
        "fr": "{name} : l'auto-test SMART court n'a pas fini en {limit} s (reste {remaining} %).",
    },
    "storage.selftest_aborted": {
        "en": "{name}: the SMART short self-test was interrupted ({result}).",
        "fr": "{name} : l'auto-test SMART court a été interrompu ({result}).",
    },
    "storage.no_smart_reason.unsupported": {
        "en": "{raw}",
        "fr": "le disque ne gère pas SMART",
    },
    "storage.no_smart_reason.disabled": {
        "en": "{raw}",
        "fr": "SMART est désactivé sur le disque",
    },
    "storage.no_smart_reason.open_failed": {
        "en": "{raw}",
        "fr": "smartctl n'a pas pu ouvrir le disque",
    },
    "storage.no_smart_reason.bridge": {
        "en": "{raw}",
        "fr": "smartctl n'a pas pu interroger le disque (adaptateur USB ou interface inconnue)",
    },
    "storage.no_smart_reason.no_data": {
        "en": "{raw}",
        "fr": "smartctl n'a donné aucune donnée SMART",
    },
    "storage.selftest_no_log": {
        "en": "no self-test log entry",
        "fr": "aucune entrée dans le journal d'auto-test",
    },
    # NVMe critical_warning bits (the words of the NVM Express base spec)
    "nvme.warning.0": {
        "en": "available spare below threshold",
        "fr": "réserve disponible sous le seuil",
    },
    "nvme.warning.1": {"en": "temperature out of range", "fr": "température hors limites"},
    "nvme.warning.2": {"en": "reliability degraded", "fr": "fiabilité dégradée"},
    "nvme.warning.3": {"en": "media read-only", "fr": "support en lecture seule"},
    "nvme.warning.4": {
        "en": "volatile memory backup failed",
        "fr": "sauvegarde de la mémoire volatile en panne",
    },
    "nvme.warning.5": {
        "en": "persistent memory region read-only",
        "fr": "région de mémoire persistante en lecture seule",
    },
    # --- battery ---
    "battery.none": {
        "en": "No battery found.",
        "fr": "Aucune batterie trouvée.",
    },
    "battery.absent": {
        "en": "{name}: the battery bay is empty.",
        "fr": "{name} : l'emplacement de la batterie est vide.",
    },
    "battery.unknown": {
        "en": "{name}: the battery does not report its capacity, its health is unknown.",
        "fr": "{name} : la batterie n'indique pas sa capacité, son état est inconnu.",
    },
    "battery.health_fail": {
        "en": "{name}: holds {health} % of its design capacity, below the minimum of {min} %.",
        "fr": "{name} : conserve {health} % de sa capacité d'origine, sous le minimum de {min} %.",
    },
    "battery.health_warn": {
        "en": "{name}: worn, holds {health} % of its design capacity.",
        "fr": "{name} : usée, conserve {health} % de sa capacité d'origine.",
    },
    "battery.cycles_fail": {
        "en": "{name}: {cycles} charge cycles, above the maximum of {max}.",
        "fr": "{name} : {cycles} cycles de charge, au-delà du maximum de {max}.",
    },
    "battery.cycles_warn": {
        "en": "{name}: {cycles} charge cycles, it is ageing.",
        "fr": "{name} : {cycles} cycles de charge, elle vieillit.",
    },
    "battery.not_charging": {
        "en": "{name}: on mains power but the battery is discharging.",
        "fr": "{name} : sur secteur mais la batterie se décharge.",
    },
    "battery.held": {
        "en": "{name}: on mains power but not charging at {capacity} % (charge threshold or fault).",
        "fr": "{name} : sur secteur mais ne charge pas à {capacity} % (seuil de charge ou panne).",
    },
    "battery.ok": {
        "en": "{name}: holds {health} % of its design capacity.",
        "fr": "{name} : conserve {health} % de sa capacité d'origine.",
    },
    # --- memory ---
    "memory.unknown": {
        "en": "The installed memory could not be read.",
        "fr": "La mémoire installée n'a pas pu être lue.",
    },
    "memory.small": {
        "en": "{gib} GB of memory installed, the programme requires {min} GB.",
        "fr": "{gib} Go de mémoire installés, le programme en exige {min}.",
    },
    "memory.small_max": {
        "en": "{gib} GB of memory installed and the laptop takes at most {max} GB, the programme requires {min} GB.",
        "fr": "{gib} Go de mémoire installés et l'ordinateur en accepte au plus {max}, le programme en exige {min}.",
    },
    "memory.ok": {
        "en": "{gib} GB of memory installed.",
        "fr": "{gib} Go de mémoire installés.",
    },
    "memory.pattern_ok": {
        "en": "{mib} MiB of free memory written and read back with {patterns} patterns, no error.",
        "fr": "{mib} Mio de mémoire libre écrits et relus avec {patterns} motifs, sans erreur.",
    },
    "memory.pattern_fail": {
        "en": "Memory errors: {errors} bad bytes in {mib} MiB tested.",
        "fr": "Erreurs mémoire : {errors} octets faux sur {mib} Mio testés.",
    },
    "memory.pattern_short": {
        "en": "Not enough free memory to test ({free} MiB free).",
        "fr": "Pas assez de mémoire libre pour le test ({free} Mio libres).",
    },
    # --- cpu ---
    "cpu.unknown": {
        "en": "The processor model could not be read.",
        "fr": "Le modèle de processeur n'a pas pu être lu.",
    },
    "cpu.too_old": {
        "en": "{model} is older than the programme accepts (generation {generation}, minimum {min}).",
        "fr": "{model} est plus ancien que ce qu'accepte le programme (génération {generation}, minimum {min}).",
    },
    "cpu.other_rejected": {
        "en": "{model} is not a processor family the programme accepts.",
        "fr": "{model} n'est pas une famille de processeur acceptée par le programme.",
    },
    "cpu.ok": {
        "en": "{model} is accepted by the programme.",
        "fr": "{model} est accepté par le programme.",
    },
    "cpu.stress_ok": {
        "en": "{seconds} s of load on {workers} threads: peak {peak} °C, no throttling.",
        "fr": "{seconds} s de charge sur {workers} fils : {peak} °C au plus, pas de bridage.",
    },
    "cpu.stress_ok_nosensor": {
        "en": "{seconds} s of load on {workers} threads ran, but no temperature sensor is readable.",
        "fr": "{seconds} s de charge sur {workers} fils effectuées, mais aucune sonde de température n'est lisible.",
    },
    "cpu.stress_hot_fail": {
        "en": "The processor reached {peak} °C under load (limit {limit} °C): check the fan and heatsink.",
        "fr": "Le processeur a atteint {peak} °C en charge (limite {limit} °C) : vérifier ventilateur et radiateur.",
    },
    "cpu.stress_hot_warn": {
        "en": "The processor ran hot under load, {peak} °C: clean the fan and heatsink.",
        "fr": "Le processeur a chauffé en charge, {peak} °C : nettoyer ventilateur et radiateur.",
    },
    "cpu.stress_throttled": {
        "en": "The processor slowed down under load ({detail}): check the cooling.",
        "fr": "Le processeur a ralenti en charge ({detail}) : vérifier le refroidissement.",
    },
    "cpu.throttle_events": {
        "en": "{count} thermal throttle events",
        "fr": "{count} épisodes de bridage thermique",
    },
    "cpu.throttle_clock": {
        "en": "{low} of {max} MHz",
        "fr": "{low} sur {max} MHz",
    },
    "cpu.sensors_none": {
        "en": "No temperature sensor is readable.",
        "fr": "Aucune sonde de température n'est lisible.",
    },
    "cpu.sensors_insane": {
        "en": "A temperature sensor reads an impossible value ({detail}).",
        "fr": "Une sonde de température donne une valeur impossible ({detail}).",
    },
    "cpu.sensors_ok": {
        "en": "{count} temperature sensors read sane values ({low} to {high} °C).",
        "fr": "{count} sondes de température donnent des valeurs plausibles ({low} à {high} °C).",
    },
    # --- peripherals ---
    "wifi.none": {
        "en": "No Wi-Fi adapter found.",
        "fr": "Aucune carte Wi-Fi trouvée.",
    },
    "wifi.present": {
        "en": "Wi-Fi adapter {name} present ({model}).",
        "fr": "Carte Wi-Fi {name} présente ({model}).",
    },
    "wifi.scan_ok": {
        "en": "Wi-Fi adapter {name} sees {count} networks.",
        "fr": "La carte Wi-Fi {name} voit {count} réseaux.",
    },
    "wifi.scan_none": {
        "en": "Wi-Fi adapter {name} present but its scan found no network.",
        "fr": "Carte Wi-Fi {name} présente mais son balayage ne trouve aucun réseau.",
    },
    "wifi.controller_only": {
        "en": "A Wi-Fi controller is present ({model}) but has no network interface (driver or firmware missing).",
        "fr": "Un contrôleur Wi-Fi est présent ({model}) mais sans interface réseau (pilote ou micrologiciel manquant).",
    },
    "ethernet.none": {
        "en": "No Ethernet port found.",
        "fr": "Aucun port Ethernet trouvé.",
    },
    "ethernet.link": {
        "en": "Ethernet {name}: link up at {speed} Mb/s.",
        "fr": "Ethernet {name} : lien actif à {speed} Mb/s.",
    },
    "ethernet.no_link": {
        "en": "Ethernet {name}: no link (plug a cable to test the port).",
        "fr": "Ethernet {name} : pas de lien (brancher un câble pour tester le port).",
    },
    "ethernet.present": {
        "en": "Ethernet {name} present, link state unknown.",
        "fr": "Ethernet {name} présent, état du lien inconnu.",
    },
    "webcam.none": {
        "en": "No webcam found.",
        "fr": "Aucune webcam trouvée.",
    },
    "webcam.present": {
        "en": "Webcam present: {model}.",
        "fr": "Webcam présente : {model}.",
    },
    "audio.none": {
        "en": "No audio device found.",
        "fr": "Aucun périphérique audio trouvé.",
    },
    "audio.present": {
        "en": "Audio device present: {model}.",
        "fr": "Périphérique audio présent : {model}.",
    },
    "usb.none": {
        "en": "No USB controller found.",
        "fr": "Aucun contrôleur USB trouvé.",
    },
    "usb.present": {
        "en": "{count} USB controllers present ({kinds}).",
        "fr": "{count} contrôleurs USB présents ({kinds}).",
    },
    # --- guided ---
    "keyboard.ok": {
        "en": "All {total} keys answered.",
        "fr": "Les {total} touches ont répondu.",
    },
    "keyboard.missing": {
        "en": "{count} of {total} keys did not answer: {keys}.",
        "fr": "{count} touches sur {total} n'ont pas répondu : {keys}.",
    },
    "screen.ok": {
        "en": "The technician saw every colour fill the screen evenly ({mode}).",
        "fr": "Le technicien a vu chaque couleur remplir l'écran uniformément ({mode}).",
    },
    "screen.defects": {
        "en": "The technician saw defects on: {colours} ({mode}).",
        "fr": "Le technicien a vu des défauts sur : {colours} ({mode}).",
    },
    "webcam.view_ok": {
        "en": "The technician saw the webcam image ({mode}).",
        "fr": "Le technicien a vu l'image de la webcam ({mode}).",
    },
    "webcam.view_bad": {
        "en": "The webcam gives no usable image ({mode}).",
        "fr": "La webcam ne donne pas d'image utilisable ({mode}).",
    },
    "webcam.view_cannot": {
        "en": "Skipped: {why}.",
        "fr": "Ignoré : {why}.",
    },
    "speakers.ok": {
        "en": "The technician heard the test tone.",
        "fr": "Le technicien a entendu le son de test.",
    },
    "speakers.bad": {
        "en": "The technician did not hear the test tone.",
        "fr": "Le technicien n'a pas entendu le son de test.",
    },
    "speakers.failed": {
        "en": "Playing the test tone failed: {error}.",
        "fr": "Le son de test n'a pas pu être joué : {error}.",
    },
    "microphone.ok": {
        "en": "The microphone recorded sound, peak level {level} dBFS.",
        "fr": "Le micro a enregistré du son, niveau de crête {level} dBFS.",
    },
    "microphone.silent": {
        "en": "The microphone recorded only silence (peak {level} dBFS).",
        "fr": "Le micro n'a enregistré que du silence (crête {level} dBFS).",
    },
    "microphone.failed": {
        "en": "Recording failed: {error}.",
        "fr": "L'enregistrement a échoué : {error}.",
    },
    "audio.cannot": {
        "en": "Skipped: {tool} is not installed, no sound can be played or recorded from this terminal.",
        "fr": "Ignoré : {tool} n'est pas installé, impossible de jouer ou d'enregistrer un son depuis ce terminal.",
    },
    "touchpad.ok": {
        "en": "The pointer reached all {zones} zones and {buttons} buttons answered.",
        "fr": "Le pointeur a atteint les {zones} zones et les boutons {buttons} ont répondu.",
    },
    "touchpad.missing": {
        "en": "Not confirmed: {missing}.",
        "fr": "Non confirmé : {missing}.",
    },
    "touchpad.no_mouse": {
        "en": "Skipped: this terminal does not report the pointer (on a bare console, start gpm).",
        "fr": "Ignoré : ce terminal ne transmet pas le pointeur (sur une console nue, lancer gpm).",
    },
    "cosmetic.grade": {
        "en": "Case condition graded {grade} by the technician.",
        "fr": "État du boîtier noté {grade} par le technicien.",
    },
    "touchpad.zone": {"en": "zone {col},{row}", "fr": "zone {col},{row}"},
    "touchpad.button": {"en": "{button} button", "fr": "bouton {button}"},
    "pointer.left": {"en": "left", "fr": "gauche"},
    "pointer.right": {"en": "right", "fr": "droite"},
    "pointer.middle": {"en": "middle", "fr": "milieu"},
    "pointer.up": {"en": "up", "fr": "haut"},
    "pointer.down": {"en": "down", "fr": "bas"},
    # --- the keyboard check's screen: what it cannot see, and key caps with words ---
    "keyboard.unseen.caps_lock": {"en": "Caps Lock", "fr": "Verr. Maj"},
    "keyboard.unseen.fn": {"en": "Fn", "fr": "Fn"},
    "keyboard.unseen.super": {"en": "Super", "fr": "Super (Windows)"},
    "keyboard.unseen.print_screen": {"en": "Print Screen", "fr": "Impr. écran"},
    "keyboard.unseen.sides": {
        "en": "left/right modifiers told apart",
        "fr": "distinction des modificateurs gauche et droit",
    },
    "keyboard.unseen.fn_firmware": {
        "en": "Fn (handled by the laptop's firmware)",
        "fr": "Fn (géré par le micrologiciel de l'ordinateur)",
    },
    # key caps that carry words, named as an AZERTY keyboard prints them; Esc, Tab, Ctrl,
    # Alt, AltGr, Menu and the F-keys read the same on most French laptops
    "keyboard.key.Bksp": {"en": "Bksp", "fr": "Retour"},
    "keyboard.key.Enter": {"en": "Enter", "fr": "Entrée"},
    "keyboard.key.Shift": {"en": "Shift", "fr": "Maj"},
    "keyboard.key.LShift": {"en": "LShift", "fr": "Maj G"},
    "keyboard.key.RShift": {"en": "RShift", "fr": "Maj D"},
    "keyboard.key.LCtrl": {"en": "LCtrl", "fr": "Ctrl G"},
    "keyboard.key.RCtrl": {"en": "RCtrl", "fr": "Ctrl D"},
    "keyboard.key.Space": {"en": "Space", "fr": "Espace"},
    "keyboard.key.Caps": {"en": "Caps", "fr": "Verr. Maj"},
    "keyboard.key.PrtSc": {"en": "PrtSc", "fr": "Impr. écran"},
    "keyboard.key.Ins": {"en": "Ins", "fr": "Inser"},
    "keyboard.key.Del": {"en": "Del", "fr": "Suppr"},
    "keyboard.key.Home": {"en": "Home", "fr": "Début"},
    "keyboard.key.End": {"en": "End", "fr": "Fin"},
    "keyboard.key.PgUp": {"en": "PgUp", "fr": "Pg. préc."},
    "keyboard.key.PgDn": {"en": "PgDn", "fr": "Pg. suiv."},
    "keyboard.screen.title": {
        "en": "Keyboard: press every key once. Lit keys have answered. Press Enter {presses} times in a row to finish.",
        "fr": "Clavier : appuyez une fois sur chaque touche. Les touches allumées ont répondu. Appuyez {presses} fois de suite sur Entrée pour finir.",
    },
    "keyboard.screen.unseen": {
        "en": "Cannot be seen here: {keys}.",
        "fr": "Invisible ici : {keys}.",
    },
    # --- progress of the timed checks, while they run ---
    "progress.waiting": {"en": "waiting for {check}", "fr": "attente de {check}"},
    "progress.cpu_stress": {
        "en": "CPU stress {elapsed}/{seconds} s",
        "fr": "charge du processeur {elapsed}/{seconds} s",
    },
    "progress.memory_pattern": {
        "en": "memory pattern test: {done}/{total} patterns",
        "fr": "test de la mémoire : {done}/{total} motifs",
    },
    "progress.self_test": {
        "en": "{name}: SMART short self-test, {left} % left",
        "fr": "{name} : auto-test SMART court, reste {left} %",
    },
    "progress.eta": {
        "en": "{text} · about {eta} left",
        "fr": "{text} · reste environ {eta}",
    },
    # --- kit ---
    "kit.ok": {
        "en": "Kit complete: {items}.",
        "fr": "Kit complet : {items}.",
    },
    "kit.recorded": {
        "en": "Kit plugged in and recorded: {items} (to be confirmed by the technician).",
        "fr": "Kit branché et enregistré : {items} (à confirmer par le technicien).",
    },
    "kit.incomplete": {
        "en": "Kit incomplete: {missing}.",
        "fr": "Kit incomplet : {missing}.",
    },
    "kit.item.mouse": {"en": "mouse", "fr": "souris"},
    "kit.item.mouse-no-answer": {"en": "mouse (does not answer)", "fr": "souris (ne répond pas)"},
    "kit.item.mouse-unconfirmed": {"en": "mouse (not confirmed)", "fr": "souris (non confirmée)"},
    "kit.item.sleeve": {"en": "sleeve", "fr": "housse"},
    "kit.item.sleeve-unconfirmed": {"en": "sleeve (not confirmed)", "fr": "housse (non confirmée)"},
    "kit.item.modem": {"en": "4G key", "fr": "clé 4G"},
    "kit.item.sim": {"en": "SIM in the 4G key", "fr": "carte SIM dans la clé 4G"},
    "kit.item.mouse_id": {"en": "mouse {usb_id}", "fr": "souris {usb_id}"},
    "kit.item.modem_id": {"en": "4G key {usb_id}", "fr": "clé 4G {usb_id}"},
    # --- repairs ---
    "repair.replace_hdd_with_ssd": {
        "en": "replace the HDD with an SSD",
        "fr": "remplacer le disque dur par un SSD",
    },
    "repair.replace_drive": {
        "en": "replace the drive with an SSD of at least {min} GB",
        "fr": "remplacer le disque par un SSD d'au moins {min} Go",
    },
    "repair.fit_ssd": {
        "en": "fit an SSD of at least {min} GB",
        "fr": "installer un SSD d'au moins {min} Go",
    },
    "repair.add_ram": {
        "en": "add {gib} GB RAM",
        "fr": "ajouter {gib} Go de RAM",
    },
    "repair.replace_battery": {
        "en": "replace the battery",
        "fr": "remplacer la batterie",
    },
    "repair.fit_battery": {
        "en": "fit a battery",
        "fr": "installer une batterie",
    },
    "repair.fit_wifi": {
        "en": "fit a Wi-Fi card",
        "fr": "installer une carte Wi-Fi",
    },
    "repair.replace_keyboard": {
        "en": "replace the keyboard",
        "fr": "remplacer le clavier",
    },
    "repair.replace_screen": {
        "en": "replace the screen",
        "fr": "remplacer l'écran",
    },
    "repair.replace_webcam": {
        "en": "replace the webcam",
        "fr": "remplacer la webcam",
    },
    "repair.repair_audio": {
        "en": "repair the audio (speakers or microphone)",
        "fr": "réparer le son (haut-parleurs ou micro)",
    },
    "repair.replace_touchpad": {
        "en": "replace the touchpad",
        "fr": "remplacer le pavé tactile",
    },
    "repair.clean_cooling": {
        "en": "clean the fan and renew the thermal paste",
        "fr": "nettoyer le ventilateur et changer la pâte thermique",
    },
    "repair.replace_ram": {
        "en": "replace the faulty memory module",
        "fr": "remplacer la barrette mémoire défectueuse",
    },
    # --- grade ---
    "grade.reason": {
        "en": "{check}: {summary}",
        "fr": "{check} : {summary}",
    },
    "grade.no_repair": {
        "en": "{summary} (no repair possible)",
        "fr": "{summary} (aucune réparation possible)",
    },
    "grade.too_many_repairs": {
        "en": "{count} repairs needed, more than the {max} the programme allows: parts.",
        "fr": "{count} réparations nécessaires, plus que les {max} admises par le programme : pièces.",
    },
    "grade.unchecked": {
        "en": "Not checked: {checks}.",
        "fr": "Non vérifié : {checks}.",
    },
    # --- bench run (agent.run): the technician's screen and the run's log ---
    "run.step.probe": {"en": "Hardware inventory", "fr": "Inventaire du matériel"},
    "run.step.checks": {"en": "Automatic checks", "fr": "Contrôles automatiques"},
    "run.step.guided": {"en": "Guided checks", "fr": "Contrôles guidés"},
    "run.step.erase": {"en": "Data erasure", "fr": "Effacement des données"},
    "run.step.image": {"en": "System image", "fr": "Image système"},
    "run.step.record": {"en": "Signed record", "fr": "Fiche signée"},
    "run.step.spool": {"en": "Saved on the stick", "fr": "Enregistrée sur la clé"},
    "run.step.sync": {"en": "Programme database", "fr": "Base du programme"},
    "run.step.label": {"en": "Asset label", "fr": "Étiquette"},
    "run.status.pending": {"en": "waiting", "fr": "en attente"},
    "run.status.running": {"en": "running", "fr": "en cours"},
    "run.status.done": {"en": "done", "fr": "fait"},
    "run.status.failed": {"en": "FAILED", "fr": "ÉCHEC"},
    "run.status.skipped": {"en": "skipped", "fr": "sauté"},
    "run.verdict.certified": {"en": "READY: CERTIFIED", "fr": "PRÊT : CERTIFIÉ"},
    "run.verdict.recycling": {"en": "PARTS: RECYCLING", "fr": "PIÈCES : RECYCLAGE"},
    "run.verdict.maintenance": {"en": "MAINTENANCE DONE", "fr": "MAINTENANCE FAITE"},
    "run.verdict.failed": {"en": "NOT CERTIFIED", "fr": "NON CERTIFIÉ"},
    "run.verdict.interrupted": {"en": "INTERRUPTED", "fr": "INTERROMPU"},
    "run.verdict.demonstration": {
        "en": "DEMONSTRATION DONE (no certificate)",
        "fr": "DÉMONSTRATION FAITE (sans certificat)",
    },
    "run.screen.title": {
        "en": "weee · refurbishment bench",
        "fr": "weee · banc de reconditionnement",
    },
    "run.screen.laptop": {"en": "laptop", "fr": "ordinateur"},
    "run.screen.asset": {"en": "ASSET ID", "fr": "N° D'INVENTAIRE"},
    "run.screen.pending_sync": {
        "en": "asset ID after sync (record kept on the stick)",
        "fr": "n° d'inventaire après synchronisation (fiche gardée sur la clé)",
    },
    "run.screen.record": {"en": "Record", "fr": "Fiche"},
    "run.screen.label": {"en": "Label", "fr": "Étiquette"},
    "run.fact.manufacturer": {"en": "Manufacturer", "fr": "Fabricant"},
    "run.fact.model": {"en": "Model", "fr": "Modèle"},
    "run.fact.serial": {"en": "Serial", "fr": "N° de série"},
    "run.fact.chassis": {"en": "Chassis", "fr": "Boîtier"},
    "run.fact.device_id": {"en": "Device ID", "fr": "Identifiant"},
    "run.fact.cpu": {"en": "CPU", "fr": "Processeur"},
    "run.fact.memory": {"en": "Memory", "fr": "Mémoire"},
    "run.fact.storage": {"en": "Storage", "fr": "Stockage"},
    # the one-line log (serial console, --screen plain); English keeps the step ids
    "run.log.laptop": {"en": "laptop: {facts}", "fr": "ordinateur : {facts}"},
    "run.log.steps": {"en": "steps: {steps}", "fr": "étapes : {steps}"},
    "run.log.started": {"en": "{step}: started ({name})", "fr": "{name} : commencé"},
    "run.log.progress": {"en": "{step}:{progress}", "fr": "{name} :{progress}"},
    "run.log.finished": {"en": "{step}: {status}", "fr": "{name} : {status}"},
    "run.log.eta": {"en": "ETA {eta}", "fr": "reste {eta}"},
    "run.log.warning": {"en": "WARNING: {text}", "fr": "ATTENTION : {text}"},
    "run.log.error": {"en": "ERROR: {text}", "fr": "ERREUR : {text}"},
    "run.log.verdict": {"en": "VERDICT: {verdict} ({words})", "fr": "VERDICT : {words}"},
    "run.log.asset": {"en": "asset ID: {asset}", "fr": "n° d'inventaire : {asset}"},
    "run.log.record": {"en": "record: {path}", "fr": "fiche : {path}"},
    "run.log.label": {"en": "label: {path}", "fr": "étiquette : {path}"},
    # runner
    "run.resuming": {
        "en": "resuming run {run_id} (started {started}, boot {boot})",
        "fr": "reprise de l'exécution {run_id} (commencée le {started}, démarrage n° {boot})",
    },
    "run.other_laptop": {
        "en": "this is another laptop ({device_id}) than the unfinished run's ({previous}): that run is archived, a new one starts",
        "fr": "cet ordinateur ({device_id}) n'est pas celui de l'exécution inachevée ({previous}) : elle est archivée, une nouvelle commence",
    },
    "run.interrupted": {
        "en": "interrupted: the run resumes at this step next time",
        "fr": "interrompu : l'exécution reprendra à cette étape la prochaine fois",
    },
    "run.reason.step": {"en": "{step}: {summary}", "fr": "{step} : {summary}"},
    "run.reason.incomplete_erasure": {
        "en": "erasure of {device} started {started} was INCOMPLETE (interrupted) and was redone",
        "fr": "l'effacement de {device} commencé le {started} était INCOMPLET (interrompu) et a été refait",
    },
    "run.reason.sync": {"en": "sync: {error}", "fr": "synchronisation : {error}"},
    "run.reason.no_record": {"en": "no record was produced", "fr": "aucune fiche n'a été produite"},
    "run.reason.parts": {
        "en": "graded parts: routed to recycling (policy)",
        "fr": "classé pièces : envoyé au recyclage (politique du programme)",
    },
    "run.reason.drives": {
        "en": "{erased} of {total} drives erased — {missing}",
        "fr": "{erased} disque(s) effacé(s) sur {total} — {missing}",
    },
    "run.reason.drive": {"en": "{name} ({status_word})", "fr": "{name} ({status_word})"},
    "run.reason.drive_detail": {
        "en": "{name} ({status_word}: {detail})",
        "fr": "{name} ({status_word} : {detail})",
    },
    "run.reason.drive_never_erased": {
        "en": "{name} (never erased)",
        "fr": "{name} (jamais effacé)",
    },
    "run.reason.demonstration": {
        "en": "a demonstration: a disposable disk stood for the laptop's drives",
        "fr": "une démonstration : un disque jetable a tenu lieu des disques de l'ordinateur",
    },
    "run.reason.no_drive_listed": {
        "en": "the hardware report lists no drive of the laptop",
        "fr": "l'inventaire du matériel ne liste aucun disque de l'ordinateur",
    },
    "run.reason.no_erasure": {
        "en": "the record holds no erasure",
        "fr": "la fiche ne contient aucun effacement",
    },
    "run.reason.erasure": {
        "en": "erasures[{index}] ({device}) is '{status}'",
        "fr": "l'effacement n° {number} ({device}) est « {status_word} »",
    },
    "run.reason.no_image": {
        "en": "the record holds no image result",
        "fr": "la fiche ne contient aucun résultat d'image",
    },
    "run.reason.image": {"en": "the image is '{status}'", "fr": "l'image est « {status_word} »"},
    "run.reason.all_certified": {
        "en": "every drive is erased and certified and the image verified",
        "fr": "chaque disque est effacé et certifié et l'image vérifiée",
    },
    # step summaries and messages
    "run.probe.summary": {
        "en": "{model}, id {device_id}, {gaps} gap(s)",
        "fr": "{model}, identifiant {device_id}, {gaps} information(s) manquante(s)",
    },
    "run.probe.unknown_model": {"en": "unknown model", "fr": "modèle inconnu"},
    "run.probe.no_id": {"en": "none", "fr": "aucun"},
    "run.checks.summary": {"en": "grade {grade}: {counts}", "fr": "note {grade} : {counts}"},
    "run.checks.grade.parts": {"en": "parts", "fr": "pièces"},
    "run.checks.count.pass": {"en": "{n} pass", "fr": "{n} réussi(s)"},
    "run.checks.count.warn": {"en": "{n} warn", "fr": "{n} avertissement(s)"},
    "run.checks.count.fail": {"en": "{n} fail", "fr": "{n} échec(s)"},
    "run.checks.count.skip": {"en": "{n} skip", "fr": "{n} ignoré(s)"},
    "run.checks.running": {"en": "{done}/{total} {check}", "fr": "{done}/{total} {check}"},
    "run.checks.result": {"en": "{check}: {status}", "fr": "{check} : {status}"},
    "run.checks.detail": {"en": "{check}: {detail}", "fr": "{check} : {detail}"},
    "run.check_status.pass": {"en": "pass", "fr": "réussi"},
    "run.check_status.warn": {"en": "warn", "fr": "avertissement"},
    "run.check_status.fail": {"en": "fail", "fr": "échec"},
    "run.check_status.skip": {"en": "skip", "fr": "ignoré"},
    "run.guided.unattended": {"en": "unattended run", "fr": "exécution sans surveillance"},
    "run.guided.no_terminal": {
        "en": "no terminal for the guided checks",
        "fr": "pas de terminal pour les contrôles guidés",
    },
    "run.erase.maintenance": {
        "en": "maintenance: nothing is erased",
        "fr": "maintenance : rien n'est effacé",
    },
    "run.erase.incomplete": {
        "en": "INCOMPLETE: the erasure of {device} ({serial}) started {started} was interrupted (last update {last}): erasing it again",
        "fr": "INCOMPLET : l'effacement de {device} ({serial}) commencé le {started} a été interrompu (dernière mise à jour {last}) : il est refait",
    },
    "run.erase.target": {
        "en": "{device} ({what}, {gb} GB) with {method}",
        "fr": "{device} ({what}, {gb} Go) avec {method}",
    },
    "run.erase.refused": {"en": "refused", "fr": "refusé"},
    "run.erase.not_confirmed": {
        "en": "not confirmed: {why}; nothing erased",
        "fr": "non confirmé : {why} ; rien n'est effacé",
    },
    "run.erase.erasing": {"en": "erasing {target}", "fr": "effacement de {target}"},
    "run.erase.none": {
        "en": "no drive to erase was found",
        "fr": "aucun disque à effacer n'a été trouvé",
    },
    "run.erase.drive": {"en": "{device} {status}", "fr": "{device} {status}"},
    "run.erase.confirm_title": {
        "en": "weee run is about to ERASE, for good:",
        "fr": "weee run va EFFACER, définitivement :",
    },
    "run.erase.confirm_prompt": {
        "en": "Type ERASE to go on (then Enter); anything else erases nothing",
        "fr": "Tapez ERASE pour continuer (puis Entrée) ; toute autre réponse n'efface rien",
    },
    "run.confirm.drive": {
        "en": "{device}  {model}  {gb} GB  serial {serial}  ({method})",
        "fr": "{device}  {model}  {gb} Go  n° de série {serial}  ({method})",
    },
    "run.confirm.left_out_title": {"en": "Not erased:", "fr": "Non effacés :"},
    "run.confirm.left_out": {"en": "{device} {what}: {reason}", "fr": "{device} {what} : {reason}"},
    "run.confirm.typed": {"en": "typed: {typed}", "fr": "tapé : {typed}"},
    "run.confirm.countdown": {
        "en": "Erasing in {left} s: press any key to stop",
        "fr": "Effacement dans {left} s : appuyez sur une touche pour arrêter",
    },
    "run.confirm.go.typed": {"en": "ERASE typed: erasing", "fr": "ERASE tapé : effacement"},
    "run.confirm.go.countdown": {
        "en": "countdown over: erasing",
        "fr": "compte à rebours terminé : effacement",
    },
    "run.confirm.stopped": {"en": "stopped: nothing is erased", "fr": "arrêté : rien n'est effacé"},
    "run.confirm.none": {
        "en": 'no confirmation: the bench profile chose so (erase.confirm = "none")',
        "fr": 'pas de confirmation : le profil du banc l\'a choisi (erase.confirm = "none")',
    },
    "run.confirm.yes": {
        "en": "confirmed on the command line (weee run --yes)",
        "fr": "confirmé en ligne de commande (weee run --yes)",
    },
    "run.confirm.why.typed": {
        "en": "'{typed}' typed instead of ERASE",
        "fr": "« {typed} » tapé au lieu de ERASE",
    },
    "run.confirm.why.key": {
        "en": "a key stopped the countdown {left} s before the end",
        "fr": "une touche a arrêté le compte à rebours {left} s avant la fin",
    },
    "run.confirm.why.closed": {"en": "the terminal closed", "fr": "le terminal s'est fermé"},
    "run.confirm.why.no-terminal": {
        "en": 'no terminal (erase.confirm = "{mode}" needs a technician at the screen)',
        "fr": 'pas de terminal (erase.confirm = "{mode}" demande un technicien devant l\'écran)',
    },
    "run.erasure.certified": {"en": "certified", "fr": "certifié"},
    "run.erasure.failed": {"en": "failed", "fr": "échoué"},
    "run.erasure.incomplete": {"en": "incomplete", "fr": "incomplet"},
    "run.erasure.refused": {"en": "refused", "fr": "refusé"},
    "run.erasure.skipped": {"en": "skipped", "fr": "ignoré"},
    "run.erasure.verified": {"en": "verified", "fr": "vérifiée"},
    "run.phase.pass": {"en": "pass {n}", "fr": "passe {n}"},
    "run.phase.verify": {"en": "verify", "fr": "vérification"},
    "run.phase.firmware": {"en": "firmware", "fr": "micrologiciel"},
    "run.phase.done": {"en": "done", "fr": "terminé"},
    "run.phase.write": {"en": "write", "fr": "écriture"},
    "run.image.maintenance": {"en": "maintenance", "fr": "maintenance"},
    "run.image.parts": {"en": "graded parts: no image", "fr": "classé pièces : pas d'image"},
    "run.image.no_source": {
        "en": "no image source in the bench profile",
        "fr": "aucune image système dans le profil du banc",
    },
    "run.image.no_target": {
        "en": "no erased drive to write the image to",
        "fr": "aucun disque effacé où écrire l'image",
    },
    "run.image.not_certified": {
        "en": "{device} was not certified erased: no image",
        "fr": "l'effacement de {device} n'est pas certifié : pas d'image",
    },
    "run.image.writing": {
        "en": "writing {source} to {device}",
        "fr": "écriture de {source} sur {device}",
    },
    "run.image.verified": {
        "en": "{device}: {verification} verified",
        "fr": "{device} : vérifiée ({verification})",
    },
    "run.image.failed": {"en": "{device}: {error}", "fr": "{device} : {error}"},
    "run.bench.new_key": {
        "en": "new bench key {key_id} in {path}",
        "fr": "nouvelle clé du banc {key_id} dans {path}",
    },
    "run.record.no_identity": {
        "en": "no stable identity found: recorded as {device_id}",
        "fr": "aucune identité stable trouvée : enregistré comme {device_id}",
    },
    "run.record.invalid": {
        "en": "the record would be invalid: {error}",
        "fr": "la fiche serait invalide : {error}",
    },
    "run.record.summary": {
        "en": "{kind} record {record_id} signed, {certified}",
        "fr": "fiche de {kind} {record_id} signée, {certified}",
    },
    "run.record.kind.refurbishment": {"en": "refurbishment", "fr": "reconditionnement"},
    "run.record.kind.maintenance": {"en": "maintenance", "fr": "maintenance"},
    "run.record.kind.recycling": {"en": "recycling", "fr": "recyclage"},
    "run.record.certified": {"en": "certified", "fr": "certifiée"},
    "run.record.not_certified": {"en": "not certified: {reason}", "fr": "non certifiée : {reason}"},
    "run.sync.no_server": {
        "en": "no server configured: the record waits in the spool",
        "fr": "aucun serveur configuré : la fiche attend sur la clé",
    },
    "run.sync.kept": {
        "en": "not sent, kept in the spool: {error}",
        "fr": "non envoyée, gardée sur la clé : {error}",
    },
    "run.sync.rejected": {
        "en": "the server did not store the record: {error}",
        "fr": "le serveur n'a pas enregistré la fiche : {error}",
    },
    "run.sync.not_accepted": {"en": "not accepted", "fr": "non acceptée"},
    "run.sync.sent": {
        "en": "{status} on {server}, asset {asset_id}",
        "fr": "{status} sur {server}, n° d'inventaire {asset_id}",
    },
    "run.sync.status.stored": {"en": "stored", "fr": "enregistrée"},
    "run.sync.status.duplicate": {"en": "duplicate", "fr": "déjà enregistrée"},
    # --- guided checks: the words inside their sentences ---
    "guided.screen_mode": {"en": "{where}, {depth}", "fr": "{where}, {depth}"},
    "guided.where.window": {"en": "terminal window", "fr": "fenêtre de terminal"},
    "guided.where.console": {"en": "console text area", "fr": "zone de texte de la console"},
    "guided.depth.24": {"en": "24-bit colour", "fr": "couleurs 24 bits"},
    "guided.depth.8": {"en": "8 colours", "fr": "8 couleurs"},
    "guided.colour.red": {"en": "red", "fr": "rouge"},
    "guided.colour.green": {"en": "green", "fr": "vert"},
    "guided.colour.blue": {"en": "blue", "fr": "bleu"},
    "guided.colour.white": {"en": "white", "fr": "blanc"},
    "guided.colour.black": {"en": "black", "fr": "noir"},
    "guided.webcam_mode": {
        "en": "snapshot drawn in the terminal (ffmpeg)",
        "fr": "image prise et dessinée dans le terminal (ffmpeg)",
    },
    "guided.no_video": {"en": "no /dev/video* device", "fr": "aucun périphérique /dev/video*"},
}
