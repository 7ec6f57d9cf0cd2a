# ruff: noqa: E501  (a translation table: one sentence per line reads best)
"""The words of the certificates and summaries in French (the English is the key).

What the record itself says (names, models, method ids, the technique sentence the bench
wrote, error texts) is printed as signed, untranslated: the certificate must match the
record. Only the document's own words are here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

Lang = Literal["en", "fr"]
LANGS: tuple[Lang, ...] = ("en", "fr")

FR: dict[str, str] = {
    "Certificate of Sanitization": "Certificat d'effacement des données",
    "Media sanitization per NIST SP 800-88 Rev. 1, Appendix G. Record {record_id} ({kind}), {date}.": "Effacement des supports selon NIST SP 800-88 Rev. 1, annexe G. Enregistrement {record_id} ({kind}), {date}.",
    "RESULT: CERTIFIED. All {n} drive(s) sanitized and verified; OS image verified.": "RÉSULTAT : CERTIFIÉ. Les {n} disque(s) sont effacés et vérifiés ; image du système vérifiée.",
    "RESULT: NOT CERTIFIED: {reason}.": "RÉSULTAT : NON CERTIFIÉ : {reason}.",
    "RESULT: NOT VERIFIED. The record claims {n} drive(s) sanitized and verified, but its signer is unknown.": "RÉSULTAT : NON VÉRIFIÉ. L'enregistrement affirme que {n} disque(s) sont effacés et vérifiés, mais son signataire est inconnu.",
    "the record holds no erasure": "l'enregistrement ne contient aucun effacement",
    "erasures[{index}] ({device}) is {status}": "l'effacement n° {number} ({device}) est {status}",
    "the record holds no image result": "l'enregistrement ne contient aucun résultat d'image",
    "the image is {status}": "l'image est {status}",
    "every drive is erased and certified and the image verified": "chaque disque est effacé et certifié et l'image vérifiée",
    "{erased} of {total} drives erased — {missing}": "{erased} disque(s) effacé(s) sur {total} — {missing}",
    "Drives of the laptop": "Disques de l'ordinateur",
    "erased and verified": "effacé et vérifié",
    "NOT ERASED": "NON EFFACÉ",
    "never erased": "jamais effacé",
    "a demonstration: a disposable disk stood for the laptop's drives": "une démonstration : un disque jetable a tenu lieu des disques de l'ordinateur",
    "the hardware report lists no drive of the laptop": "l'inventaire du matériel ne liste aucun disque de l'ordinateur",
    "excluded: USB or removable, not the laptop's": "exclu : USB ou amovible, pas un disque de l'ordinateur",
    "Laptop and media source": "Ordinateur portable et provenance des supports",
    "Manufacturer": "Fabricant",
    "Model": "Modèle",
    "Serial number": "Numéro de série",
    "Device id": "Id. de l'appareil",
    "Asset id": "N° d'inventaire",
    "Media source (donor)": "Donateur",
    "Donor batch": "Lot du donateur",
    "Date": "Date",
    "No drive was erased in this record.": "Aucun disque n'a été effacé dans cet enregistrement.",
    "Drive {number} of {total}: {device}": "Disque {number} sur {total} : {device}",
    "Media make": "Marque",
    "Media type": "Type de support",
    "Capacity": "Capacité",
    "{size} ({bytes} bytes)": "{size} ({bytes} octets)",
    "Hidden areas": "Zones cachées",
    "Category": "Catégorie",
    "Clear": "Effacement (Clear)",
    "Purge": "Purge (Purge)",
    "Method": "Méthode",
    "Technique": "Technique",
    "Passes": "Passes",
    "{n} pass(es)": "{n} passe(s)",
    ", pattern {pattern}": ", motif {pattern}",
    "Tool": "Outil",
    "Verification": "Vérification",
    "Started": "Début",
    "Ended": "Fin",
    "Result": "Résultat",
    "Errors": "Erreurs",
    "none": "aucune",
    "Destination": "Destination",
    "Erasure id": "Id. d'effacement",
    "Reuse: refurbished laptop for a digital-inclusion programme": "Réemploi : ordinateur reconditionné pour un programme d'inclusion numérique",
    "Recycling": "Recyclage",
    "SANITIZED AND VERIFIED": "EFFACÉ ET VÉRIFIÉ",
    "FAILED": "ÉCHEC",
    "INCOMPLETE (interrupted)": "INCOMPLET (interrompu)",
    "REFUSED (not erased)": "REFUSÉ (non effacé)",
    "SKIPPED (not erased)": "IGNORÉ (non effacé)",
    "present": "présente",
    "not checked": "non vérifiée",
    "HPA {hpa}, DCO {dco}": "HPA {hpa}, DCO {dco}",
    "; hidden area removed before erasure": " ; zone cachée supprimée avant l'effacement",
    "; native size erased: {size} ({bytes} bytes)": " ; taille native effacée : {size} ({bytes} octets)",
    "not verified": "non vérifié",
    "full read-back": "relecture complète",
    "NIST sampling, {samples} samples": "échantillonnage NIST, {samples} échantillons",
    "{what}, {size} read, {mismatches} mismatches: {result}": "{what}, {size} relus, {mismatches} différence(s) : {result}",
    "PASSED": "RÉUSSIE",
    "NOT-DONE": "NON FAITE",
    "Operating system image": "Image du système d'exploitation",
    "Image": "Image",
    "Written": "Écrite le",
    "Sanitization performed by": "Effacement réalisé par",
    "Name": "Nom",
    "Organisation": "Organisme",
    "Bench": "Banc",
    "Location": "Lieu",
    "Validation": "Validation",
    "Digitally signed by bench {bench} with Ed25519 key {key_id} on {date}. Signature {signature}... Anyone can check this record offline: weee verify <record file> --public-key <the bench's public key>. The code leads to the record's verification: {target}": "Signé numériquement par le banc {bench} avec la clé Ed25519 {key_id} le {date}. Signature {signature}... Chacun peut vérifier cet enregistrement hors ligne : weee verify <fichier de l'enregistrement> --public-key <la clé publique du banc>. Le code mène à la vérification de l'enregistrement : {target}",
    "Data Sanitization Summary": "Récapitulatif de l'effacement des données",
    "NOT VERIFIED: signed by an unknown key {key_id}": "NON VÉRIFIÉ : signé par une clé inconnue {key_id}",
    "Digitally signed by bench {bench} with Ed25519 key {key_id} on {date}, a key known from {source}. Signature {signature}... Anyone can check this record offline: weee verify <record file> --public-key <the bench's public key>. The code leads to the record's verification: {target}": "Signé numériquement par le banc {bench} avec la clé Ed25519 {key_id} le {date}, une clé connue par : {source}. Signature {signature}... Chacun peut vérifier cet enregistrement hors ligne : weee verify <fichier de l'enregistrement> --public-key <la clé publique du banc>. Le code mène à la vérification de l'enregistrement : {target}",
    "NOT VERIFIED: signed on {date} with Ed25519 key {key_id}, which is not a known bench key, so nothing proves which bench wrote this record (it names bench {bench}). Signature {signature}... Check it: weee verify <record file> --public-key <the bench's public key>. The code leads to the record's verification: {target}": "NON VÉRIFIÉ : signé le {date} avec la clé Ed25519 {key_id}, qui n'est pas une clé de banc connue : rien ne prouve quel banc a écrit cet enregistrement (il nomme le banc {bench}). Signature {signature}... Pour le vérifier : weee verify <fichier de l'enregistrement> --public-key <la clé publique du banc>. Le code mène à la vérification de l'enregistrement : {target}",
    "NOT VERIFIED: unknown signing key": "NON VÉRIFIÉ : clé de signature inconnue",
    "NOT VERIFIED: {n} record(s) signed by an unknown key": "NON VÉRIFIÉ : {n} enregistrement(s) signé(s) par une clé inconnue",
    "Donor: {donors}. Batch: {batches}. Media sanitization per NIST SP 800-88 Rev. 1. Each line has its own signed record and certificate (weee verify checks them offline).": "Donateur : {donors}. Lot : {batches}. Effacement des supports selon NIST SP 800-88 Rev. 1. Chaque ligne a son propre enregistrement signé et son certificat (weee verify les vérifie hors ligne).",
    "{laptops} laptop(s), {drives} drive(s): {good} drive(s) sanitized and verified, {bad} not; {certified} laptop(s) certified.": "{laptops} ordinateur(s), {drives} disque(s) : {good} disque(s) effacé(s) et vérifié(s), {bad} non ; {certified} ordinateur(s) certifié(s).",
    "Laptop": "Ordinateur",
    "Serial": "N° de série",
    "Asset": "Inventaire",
    "Drives: make model serial, method, verification, result": "Disques : marque modèle n° de série, méthode, vérification, résultat",
    "Record": "Enregistrement",
    "no drive erased": "aucun disque effacé",
    "CERTIFIED": "CERTIFIÉ",
    "NOT CERTIFIED": "NON CERTIFIÉ",
}


Translate = Callable[[str], str]


def translator(lang: str) -> Translate:
    """The function that puts an English phrase of the documents into ``lang``."""
    if lang == "en":
        return lambda phrase: phrase
    if lang == "fr":
        # a phrase missing from the table is a bug, caught by the tests, not printed in English
        return FR.__getitem__
    raise ValueError(f"unknown language {lang!r}: the documents speak {', '.join(LANGS)}")
