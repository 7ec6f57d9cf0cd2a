# ruff: noqa: E501  (a translation table: one message per line reads best)
"""Fill locale/fr/LC_MESSAGES/django.po from the table below (run after makemessages).

Kept beside the catalogue so a new string gets its French here, in one reviewed place;
``msgfmt`` (or ``django-admin compilemessages``) then builds the .mo that is committed, so
a running server needs no gettext.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

FR = {
    "Benches": "Bancs",
    "name": "nom",
    "organisation": "organisation",
    "location": "lieu",
    "public key": "clé publique",
    "Ed25519 public key, raw 32 bytes in base64": "Clé publique Ed25519, 32 octets bruts en base64",
    "key id": "identifiant de clé",
    "active": "actif",
    "An inactive bench can no longer upload.": "Un banc inactif ne peut plus envoyer.",
    "registered at": "enregistré le",
    "bench": "banc",
    "benches": "bancs",
    "received at": "reçu le",
    "address": "adresse",
    "status": "statut",
    "error": "erreur",
    "detail": "détail",
    "record id": "identifiant d'enregistrement",
    "rejected upload": "envoi refusé",
    "rejected uploads": "envois refusés",
    "record": "enregistrement",
    "Recycle the selected laptops (parts)": "Recycler les portables sélectionnés (pièces)",
    "Devices": "Matériel",
    "received": "reçu",
    "diagnosed": "diagnostiqué",
    "erased": "effacé",
    "imaged": "système installé",
    "certified": "certifié",
    "allocated": "attribué",
    "in maintenance": "en maintenance",
    "returned": "rendu",
    "recycled": "recyclé",
    "A laptop that is %(current)s cannot become %(new)s.": "Un portable %(current)s ne peut pas devenir %(new)s.",
    "asset id": "numéro d'inventaire",
    "device id": "identifiant matériel",
    "manufacturer": "fabricant",
    "model": "modèle",
    "serial number": "numéro de série",
    "board serial": "numéro de série de la carte mère",
    "grade": "grade",
    "collection batch": "lot de collecte",
    "kit assembled on the bench": "kit préparé à l'atelier",
    "notes": "notes",
    "updated at": "mis à jour le",
    "laptop": "portable",
    "laptops": "portables",
    "system UUID": "UUID système",
    "MAC address": "adresse MAC",
    "drive serial": "numéro de série du disque",
    "kind": "type",
    "value": "valeur",
    "first seen": "vu la première fois",
    "identifier": "identifiant",
    "identifiers": "identifiants",
    "refurbishment": "reconditionnement",
    "maintenance": "maintenance",
    "recycling": "recyclage",
    "run at": "passage le",
    "signed file": "fichier signé",
    "signature": "signature",
    "technician": "technicien",
    "matched by": "reconnu par",
    "maintenance ticket": "ticket de maintenance",
    "ticket reference": "référence du ticket",
    "bench record": "passage au banc",
    "bench records": "passages au banc",
    "at": "le",
    "from": "de",
    "to": "à",
    "reason": "motif",
    "by": "par",
    "status change": "changement de statut",
    "status changes": "changements de statut",
    "erasure certificate": "certificat d'effacement",
    "summary": "synthèse",
    "per laptop": "par portable",
    "trainees": "stagiaires",
    "Shortage of %(kind)s: %(n)d missing for the trainees waiting.": "Pénurie de %(kind)s : il en manque %(n)d pour les stagiaires en attente.",
    "needed by waiting trainees": "nécessaires aux stagiaires en attente",
    "shortage": "manque",
    "cohort": "promotion",
    "kit": "kit",
    "maintenance valid until": "maintenance valable jusqu'au",
    "handover receipt": "reçu de remise",
    "Print (PDF)": "Imprimer (PDF)",
    "Laptop allocated.": "Portable attribué.",
    "Print the handover receipt (PDF)": "Imprimer le reçu de remise (PDF)",
    "trainee": "stagiaire",
    "valid until": "valable jusqu'au",
    "bench runs": "passages au banc",
    "Programme": "Programme",
    "Laptop handover receipt": "Reçu de remise d'un ordinateur portable",
    "The trainee named below receives this refurbished laptop and its accessories. Its "
    "storage was erased and certified before the handover. Repairs are covered by a "
    "maintenance ticket valid %(years)d years.": "Le stagiaire nommé ci-dessous reçoit cet ordinateur portable reconditionné et ses "
    "accessoires. Son stockage a été effacé et certifié avant la remise. Les réparations "
    "sont couvertes par un ticket de maintenance valable %(years)d ans.",
    "Trainee": "Stagiaire",
    "Cohort": "Promotion",
    "Handed over on": "Remis le",
    "Laptop": "Portable",
    "Serial number": "Numéro de série",
    "none readable": "illisible",
    "Grade": "Grade",
    "Maintenance ticket valid until": "Ticket de maintenance valable jusqu'au",
    "Signature of the trainee": "Signature du stagiaire",
    "Signature of the coordinator": "Signature du coordinateur",
    "contact": "contact",
    "logins": "comptes",
    "People of this donor who may download its erasure certificates.": "Personnes de ce donateur qui peuvent télécharger ses certificats d'effacement.",
    "donor": "donateur",
    "donors": "donateurs",
    "reference": "référence",
    "collected on": "collecté le",
    "collection batches": "lots de collecte",
    "starts on": "débute le",
    "cohorts": "promotions",
    "has Wi-Fi at home": "a le Wi-Fi à la maison",
    "A trainee without Wi-Fi at home receives a 4G key.": "Un stagiaire sans Wi-Fi à la maison reçoit une clé 4G.",
    "This cohort already has %(n)d trainees: a session is %(n)d.": "Cette promotion compte déjà %(n)d stagiaires : une session en compte %(n)d.",
    "mouse": "souris",
    "sleeve": "housse",
    "4G key": "clé 4G",
    "in stock": "en stock",
    "accessory stock": "stock d'accessoires",
    "not given": "non remis",
    "assembled on the bench": "préparé à l'atelier",
    "from stock": "pris dans le stock",
    "handed over on": "remis le",
    "returned on": "rendu le",
    "return reason": "motif du retour",
    "allocation": "attribution",
    "allocations": "attributions",
    "Can view the programme reports": "Peut voir les rapports du programme",
    "open": "ouvert",
    "closed": "fermé",
    "opened on": "ouvert le",
    "problem": "problème",
    "closed on": "fermé le",
    "resolution": "résolution",
    "maintenance tickets": "tickets de maintenance",
    "new ticket": "nouveau ticket",
    "The laptop was returned on %(day)s: this allocation has no maintenance any more.": "Le portable a été rendu le %(day)s : cette attribution n'a plus de maintenance.",
    "A ticket cannot be opened before the handover.": "Un ticket ne peut pas être ouvert avant la remise.",
    "The maintenance ticket expired on %(until)s (%(years)d years after the handover of "
    "%(handover)s).": "Le ticket de maintenance a expiré le %(until)s (%(years)d ans après la remise du "
    "%(handover)s).",
    "Laptop %(asset)s is %(status)s: only a certified laptop can be allocated.": "Le portable %(asset)s est %(status)s : seul un portable certifié peut être attribué.",
    "%(trainee)s already has a laptop.": "%(trainee)s a déjà un portable.",
    "Shortage: no %(items)s in stock for this kit.": "Pénurie : plus de %(items)s en stock pour ce kit.",
    "This laptop was already returned.": "Ce portable a déjà été rendu.",
    "laptop returned": "portable rendu",
    "No laptop of this batch has been erased on a bench yet.": "Aucun portable de ce lot n'a encore été effacé à l'atelier.",
    "Reports": "Rapports",
    "Programme report": "Rapport du programme",
    "English": "Anglais",
    "French": "Français",
    "Language": "Langue",
    "Log out": "Se déconnecter",
    "Your collection batches": "Vos lots de collecte",
    "Donor": "Donateur",
    "Batch": "Lot",
    "Collected on": "Collecté le",
    "Laptops": "Portables",
    "Erasure certificate": "Certificat d'effacement",
    "Erasure summary (PDF)": "Synthèse d'effacement (PDF)",
    "One certificate per laptop (PDF)": "Un certificat par portable (PDF)",
    "No batch is registered for your organisation yet.": "Aucun lot n'est encore enregistré pour votre organisation.",
    "Log in": "Se connecter",
    "Wrong user name or password.": "Nom d'utilisateur ou mot de passe incorrect.",
    "User name": "Nom d'utilisateur",
    "Password": "Mot de passe",
    "From": "Du",
    "To": "Au",
    "Per": "Par",
    "Show": "Afficher",
    "Export CSV": "Exporter en CSV",
    "Per period": "Par période",
    "Per donor": "Par donateur",
    "Per cohort": "Par promotion",
    "Total": "Total",
    "CO2e avoided: %(factor)s kg per laptop reused by a trainee. Source: %(source)s.": "CO2e évité : %(factor)s kg par portable réemployé par un stagiaire. Source : "
    "%(source)s.",
    "CO2e avoided (kg)": "CO2e évité (kg)",
    "Nothing in this range.": "Rien sur cette période.",
    "Programme reports": "Rapports du programme",
    "A session is %(n)d trainees, not %(m)d.": "Une session compte %(n)d stagiaires, pas %(m)d.",
    "Programme today": "Le programme aujourd'hui",
    "Certified laptops ready to allocate": "Portables certifiés prêts à attribuer",
    "Trainees of a cohort waiting for a laptop": "Stagiaires d'une promotion en attente d'un portable",
    "Open maintenance tickets": "Tickets de maintenance ouverts",
    "Laptops in maintenance": "Portables en maintenance",
    "Shortage of %(kind)s": "Pénurie de %(kind)s",
    "Give the selected benches a new API token": "Donner un nouveau jeton d'API aux bancs sélectionnés",
    "month": "mois",
    "quarter": "trimestre",
    "year": "année",
    "Record verification": "Vérification d'un enregistrement",
    "The signature of this record does NOT check:": "La signature de cet enregistrement n'est PAS valide :",
    "Held by this programme database; signature valid, made by bench %(bench)s (key %(key)s).": "Détenu par cette base du programme ; signature valide, faite par le banc %(bench)s (clé %(key)s).",
    "Record": "Enregistrement",
    "Bench run": "Passage au banc",
    "Certified": "Certifié",
    "yes: every drive erased and verified, image verified": "oui : chaque disque effacé et vérifié, système vérifié",
    "no": "non",
    "Drives": "Disques",
    "Drive": "Disque",
    "Method": "Méthode",
    "Verification": "Vérification",
    "Result": "Résultat",
    "API token of bench %(name)s (shown once, copy it to the bench now): %(token)s": "Jeton d'API du banc %(name)s (affiché une seule fois, copiez-le sur le banc "
    "maintenant) : %(token)s",
    "not recorded": "non renseigné",
    "returned in working order": "rendu en état de marche",
    "returned broken": "rendu cassé",
    "lost (not returned)": "perdu (non rendu)",
    "mouse returned": "souris rendue",
    "sleeve returned": "housse rendue",
    "4G key returned": "clé 4G rendue",
    "kit return note": "note sur le retour du kit",
    "What happened to an accessory that was lost or came back broken.": "Ce qui est arrivé à un accessoire perdu ou rendu cassé.",
    "kit returned": "kit rendu",
    "Unknown accessory: %(kind)s.": "Accessoire inconnu : %(kind)s.",
    "Unknown condition for the %(item)s: %(condition)s.": "État inconnu pour : %(item)s : %(condition)s.",
    "No %(item)s was handed over with this laptop: it cannot come back.": "Aucun(e) %(item)s n'a été remis(e) avec ce portable : impossible de le rendre.",
    "Give the day the laptop was returned.": "Indiquez le jour où le portable a été rendu.",
    "No %(item)s was handed over with this laptop.": "Aucun(e) %(item)s n'a été remis(e) avec ce portable.",
}


def _unquote(lines: list[str]) -> str:
    return "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', " ".join(lines))).replace('\\"', '"')


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def fill(po: Path) -> list[str]:
    """Write the translations into ``po``; return the msgids still without French."""
    # one entry per blank-line-separated block (makemessages may glue the first entry to
    # the header: split wherever a comment or msgid follows a msgstr's lines)
    lines_in: list[str] = []
    in_msgstr = False
    for line in po.read_text(encoding="utf-8").split("\n"):
        if in_msgstr and (line.startswith("#") or line.startswith("msgid ")):
            lines_in.append("")
        if line.startswith("msgstr "):
            in_msgstr = True
        elif not line.startswith('"'):
            in_msgstr = False
        lines_in.append(line)
    entries = re.split(r"\n\n+", "\n".join(lines_in))
    missing = []
    out = []
    for entry in entries:
        lines = entry.split("\n")
        try:
            start = next(i for i, line in enumerate(lines) if line.startswith("msgid "))
            end = next(i for i, line in enumerate(lines) if line.startswith("msgstr "))
        except StopIteration:
            out.append(entry)
            continue
        msgid = _unquote(lines[start:end])
        if not msgid:  # the header
            out.append(entry.replace("#, fuzzy\n", ""))
            continue
        french = FR.get(msgid)
        if french is None:
            missing.append(msgid)
            out.append(entry)
            continue
        lines = [line for line in lines[:end] if line != "#, fuzzy"] + [f"msgstr {_quote(french)}"]
        out.append("\n".join(lines))
    po.write_text("\n\n".join(out), encoding="utf-8")
    return missing


if __name__ == "__main__":
    left = fill(Path(__file__).parent / "fr/LC_MESSAGES/django.po")
    for msgid in left:
        print(f"no French for: {msgid!r}", file=sys.stderr)
    sys.exit(1 if left else 0)
