"""``weee image`` end to end: real images, loop devices, a local HTTP server.

Each test writes onto a loop device it creates (detached in a ``finally``) and compares
the device with the image byte for byte, or checks that a failure is reported as
FAILED with the right exit code and a message that says what went wrong.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from agent.cli import main as weee
from agent.errors import EXIT_FAILED, EXIT_OK, EXIT_REFUSED, EXIT_USAGE
from agent.image import write_image
from agent.image.bmap import parse_bmap
from agent.image.partitions import ESP_TYPE, read_gpt
from checks.system import run_command
from tests.test_image_support import (
    IMAGE_SIZE,
    Images,
    ServerControl,
    build_images,
    http_server,
    loop_device,
    must,
    needs_root,
    needs_tools,
    sha256_file,
)

# Building the test images takes ~10 s (mke2fs, mkfs.vfat, three compressors, bmaptool).
pytestmark = [needs_tools, pytest.mark.slow]
on_loop = [pytest.mark.root, needs_root]
KINDS = ["raw", "zst", "xz", "gz"]


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> Images:
    return build_images(tmp_path_factory.mktemp("image-esp"), "esp")


@pytest.fixture(scope="module")
def plain_images(tmp_path_factory: pytest.TempPathFactory) -> Images:
    return build_images(tmp_path_factory.mktemp("image-plain"), "plain", kinds=("zst",))


def _same_as_image(device: str, images: Images) -> bool:
    return sha256_file(device, IMAGE_SIZE) == images.sha256


def _mapped_bytes(images: Images) -> int:
    return parse_bmap(images.bmap.read_bytes()).mapped_bytes


# ------------------------------------------------------------------ writing, local files


@pytest.mark.parametrize("with_bmap", [True, False], ids=["bmap", "no-bmap"])
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.root
@needs_root
def test_writes_local_image_onto_loop_device(
    images: Images, tmp_path: Path, kind: str, with_bmap: bool
) -> None:
    with loop_device(tmp_path / "disk", IMAGE_SIZE) as device:
        result = write_image(str(images.source(kind)), device, bmap=None if with_bmap else False)
        assert result.status == "verified", result.error
        assert result.exit_code == EXIT_OK
        assert _same_as_image(device, images)
    assert result.bmap is with_bmap
    assert result.image_bytes == IMAGE_SIZE
    if with_bmap:
        assert result.verification == "bmap-ranges"
        assert result.bytes_written == _mapped_bytes(images) < IMAGE_SIZE
        assert result.sha256 is None  # not computed unless --sha256 asks for it
    else:
        assert result.verification == "sha256"
        assert result.bytes_written == IMAGE_SIZE
        assert result.sha256 == images.sha256


@pytest.mark.root
@needs_root
def test_bmap_leaves_unmapped_blocks_alone(images: Images, tmp_path: Path) -> None:
    """Only mapped ranges are written: the rest of the disk keeps its old bytes."""
    bmap = parse_bmap(images.bmap.read_bytes())
    with loop_device(tmp_path / "disk", IMAGE_SIZE, fill=b"\xaa") as device:
        result = write_image(str(images.compressed["zst"]), device, sha256=images.sha256)
        assert result.status == "verified", result.error
        disk = Path(device).read_bytes()
    image = images.raw.read_bytes()
    mapped = bytearray(len(image))
    for r in bmap.ranges:
        start, length = r.byte_span(bmap.block_size, bmap.image_size)
        assert disk[start : start + length] == image[start : start + length]
        mapped[start : start + length] = b"\x01" * length
    gap = mapped.index(0)  # first unmapped byte
    assert disk[gap] == 0xAA
    assert result.sha256 == images.sha256  # --sha256 checked the whole stream


# ------------------------------------------------------------------ over HTTP


@pytest.mark.parametrize(
    ("kind", "with_bmap"), [("zst", True), ("raw", False), ("xz", True), ("gz", False)]
)
@pytest.mark.root
@needs_root
def test_writes_image_served_over_http(
    images: Images, tmp_path: Path, kind: str, with_bmap: bool
) -> None:
    name = images.source(kind).name
    with (
        http_server(images.folder) as (base, control),
        loop_device(tmp_path / "disk", IMAGE_SIZE) as device,
    ):
        result = write_image(f"{base}/{name}", device, bmap=None if with_bmap else False)
        assert result.status == "verified", result.error
        assert _same_as_image(device, images)
    assert result.bmap is with_bmap
    if with_bmap:  # found beside the image on the server
        assert any(path.endswith(".bmap") for path, _ in control.requests)


@pytest.mark.parametrize("kind", ["zst", "raw"])
@pytest.mark.root
@needs_root
def test_resumes_download_after_dropped_connections(
    images: Images, tmp_path: Path, kind: str
) -> None:
    name = images.source(kind).name
    control = ServerControl(drop_after=1_500_000, drops_left=3)
    with (
        http_server(images.folder, control) as (base, control),
        loop_device(tmp_path / "disk", IMAGE_SIZE) as device,
    ):
        result = write_image(f"{base}/{name}", device, backoff_s=0.01)
        assert result.status == "verified", result.error
        assert _same_as_image(device, images)
    ranges = [wanted for path, wanted in control.requests if path.endswith(name) and wanted]
    assert ranges == ["bytes=1500000-", "bytes=3000000-", "bytes=4500000-"]
    assert "download resumed 3 time(s)" in result.notes


@pytest.mark.root
@needs_root
def test_truncated_download_fails(images: Images, tmp_path: Path) -> None:
    """The server never sends past 2 MB: the retries run out, the result is FAILED."""
    control = ServerControl(absolute_cut=2_000_000)
    with (
        http_server(images.folder, control) as (base, _),
        loop_device(tmp_path / "disk", IMAGE_SIZE) as device,
    ):
        result = write_image(f"{base}/os.img.zst", device, backoff_s=0.01, retries=2)
    assert result.status == "failed"
    assert result.exit_code == EXIT_FAILED
    assert result.error is not None
    assert "at byte 2000000 of" in result.error and "after 2 retries" in result.error


@pytest.mark.root
@needs_root
def test_missing_url_is_a_usage_error(images: Images, tmp_path: Path) -> None:
    with (
        http_server(images.folder) as (base, _),
        loop_device(tmp_path / "disk", IMAGE_SIZE) as device,
    ):
        result = write_image(f"{base}/nothing.img.zst", device)
    assert result.status == "failed"
    assert result.exit_code == EXIT_USAGE
    assert "not found on the server" in (result.error or "")


# ------------------------------------------------------------------ bad images


@pytest.mark.parametrize("kind", ["zst", "xz", "gz"])
@pytest.mark.root
@needs_root
def test_truncated_image_file_fails(images: Images, tmp_path: Path, kind: str) -> None:
    data = images.compressed[kind].read_bytes()
    cut = tmp_path / f"cut.img.{kind}"
    cut.write_bytes(data[: len(data) * 2 // 3])
    with loop_device(tmp_path / "disk", IMAGE_SIZE) as device:
        result = write_image(str(cut), device, bmap=False)
    assert result.status == "failed"
    assert result.exit_code == EXIT_FAILED
    assert "truncated" in (result.error or "") or "ends early" in (result.error or "")


@pytest.mark.parametrize("kind", ["zst", "xz", "gz"])
@pytest.mark.root
@needs_root
def test_corrupt_compressed_stream_fails(images: Images, tmp_path: Path, kind: str) -> None:
    """A flipped byte in the compressed stream: the decompressor's own check fails."""
    data = bytearray(images.compressed[kind].read_bytes())
    data[len(data) // 2] ^= 0xFF
    bad = tmp_path / f"bad.img.{kind}"
    bad.write_bytes(bytes(data))
    with loop_device(tmp_path / "disk", IMAGE_SIZE) as device:
        result = write_image(str(bad), device, bmap=False)
    assert result.status == "failed", "a corrupt image was reported as written"
    assert result.exit_code == EXIT_FAILED
    assert re.search(r"damaged|truncated|ends early", result.error or "")


def _bmap_with_bad_range(images: Images, tmp_path: Path) -> tuple[Path, str]:
    """The bmap with one range checksum altered and its file checksum recomputed."""
    text = images.bmap.read_text()
    doc = parse_bmap(text.encode())
    victim = doc.ranges[len(doc.ranges) // 2]
    assert victim.checksum is not None
    text = text.replace(victim.checksum, "0" * 63 + "1")
    file_sum = re.search(r"<BmapFileChecksum>\s*(\w+)\s*<", text)
    assert file_sum is not None
    zeroed = text.replace(file_sum.group(1), "0" * 64)
    text = text.replace(file_sum.group(1), hashlib.sha256(zeroed.encode()).hexdigest())
    bad = tmp_path / "bad.bmap"
    bad.write_text(text)
    return bad, f"blocks {victim.first}-{victim.last}"


@pytest.mark.root
@needs_root
def test_range_checksum_mismatch_fails_and_names_the_range(images: Images, tmp_path: Path) -> None:
    bad_bmap, label = _bmap_with_bad_range(images, tmp_path)
    with loop_device(tmp_path / "disk", IMAGE_SIZE) as device:
        result = write_image(str(images.compressed["zst"]), device, bmap=str(bad_bmap))
    assert result.status == "failed"
    assert result.exit_code == EXIT_FAILED
    assert label in (result.error or "")
    assert result.verification == "bmap-ranges"  # the check that caught it


@pytest.mark.root
@needs_root
def test_wrong_sha256_fails(images: Images, tmp_path: Path) -> None:
    with loop_device(tmp_path / "disk", IMAGE_SIZE) as device:
        result = write_image(str(images.compressed["gz"]), device, sha256="ab" * 32)
    assert result.status == "failed"
    assert result.exit_code == EXIT_FAILED
    assert images.sha256 in (result.error or "")  # says what the image really is
    assert result.sha256 is None


@pytest.mark.parametrize("kind", ["raw", "zst"])
@pytest.mark.root
@needs_root
def test_image_larger_than_disk_fails_before_writing(
    images: Images, tmp_path: Path, kind: str
) -> None:
    with loop_device(tmp_path / "disk", 32 << 20, fill=b"\x55") as device:
        result = write_image(str(images.source(kind)), device)
        assert set(Path(device).read_bytes()) == {0x55}  # untouched
    assert result.status == "failed"
    assert result.exit_code == EXIT_FAILED
    assert result.bytes_written == 0
    assert "larger than" in (result.error or "")


@pytest.mark.root
@needs_root
def test_image_of_unknown_size_fails_at_the_end_of_the_disk(images: Images, tmp_path: Path) -> None:
    """zstd from a pipe records no size and no bmap is given: the write that would
    pass the end of the disk is refused, and the run is FAILED."""
    streamed = tmp_path / "stream.img.zst"
    streamed.write_bytes(must_bytes(["zstd", "-q", "-c", "-"], images.raw.read_bytes()))
    with loop_device(tmp_path / "disk", 32 << 20) as device:
        result = write_image(str(streamed), device, bmap=False)
    assert result.status == "failed"
    assert "would pass its end" in (result.error or "")
    assert 0 < result.bytes_written <= 32 << 20  # says how much of the disk it changed


def must_bytes(argv: list[str], data: bytes) -> bytes:
    result = run_command(argv, input=data, timeout=60)
    assert result.ok, result.stderr_text
    return result.stdout


# ------------------------------------------------------------------ after the write


@pytest.mark.root
@needs_root
def test_larger_disk_gets_gpt_repaired_partition_grown_and_asset_id(
    images: Images, tmp_path: Path
) -> None:
    size = 96 << 20
    with loop_device(tmp_path / "disk", size) as device:
        result = write_image(
            str(images.compressed["zst"]), device, grow_fs=True, asset_id="WEEE-000123"
        )
        assert result.status == "verified", result.error
        verify = must(["sgdisk", "-v", device])
        assert "No problems found" in verify
        gpt = read_gpt(device)
        assert gpt is not None
        assert gpt.backup_lba == size // 512 - 1
        root = gpt.partitions[-1]
        assert root.last_lba == gpt.last_usable
        assert root.name == "root"
        original = read_gpt(str(images.raw))
        assert original is not None
        before = original.partitions[-1]
        assert (root.first_lba, root.unique_guid, root.type_guid) == (
            before.first_lba,
            before.unique_guid,
            before.type_guid,
        )
        spec = f"{device}?offset={root.first_lba * 512}"
        fsck = must(["e2fsck", "-fn", spec])
        assert "clean" in fsck or "files" in fsck
        blocks = must(["dumpe2fs", "-h", spec])
        block_count = int(re.search(r"Block count:\s+(\d+)", blocks).group(1))  # type: ignore[union-attr]
        assert block_count * 4096 > (before.last_lba - before.first_lba + 1) * 512
        esp = gpt.partitions[0]
        assert esp.type_guid == ESP_TYPE
        image = f"{device}@@{esp.first_lba * 512}"
        assert must(["mtype", "-i", image, "::/weee/asset-id"]) == "WEEE-000123\n"
        details = json.loads(must(["mtype", "-i", image, "::/weee/asset.json"]))
        assert details["asset_id"] == "WEEE-000123"
        assert details["image"] == str(images.compressed["zst"])
    assert "backup GPT moved to the end of the disk (sgdisk -e)" in result.notes


@pytest.mark.root
@needs_root
def test_asset_id_on_ext4_when_there_is_no_esp(plain_images: Images, tmp_path: Path) -> None:
    with loop_device(tmp_path / "disk", IMAGE_SIZE) as device:
        result = write_image(str(plain_images.compressed["zst"]), device, asset_id="LAP-77")
        assert result.status == "verified", result.error
        gpt = read_gpt(device)
        assert gpt is not None
        spec = f"{device}?offset={gpt.partitions[0].first_lba * 512}"
        assert must(["debugfs", "-R", "cat weee/asset-id", spec]) == "LAP-77\n"
        doc = json.loads(must(["debugfs", "-R", "cat weee/asset.json", spec]))
        assert doc["asset_id"] == "LAP-77"
        fsck = run_fsck(spec)
        assert fsck == 0, "debugfs left the file system inconsistent"
    assert any("partition 1 (ext4)" in note for note in result.notes)


def run_fsck(spec: str) -> int | None:
    return run_command(["e2fsck", "-fn", spec], timeout=60).returncode


def test_grow_fs_refused_on_an_image_file(images: Images, tmp_path: Path) -> None:
    """resize2fs would truncate an image file: --grow-fs is for block devices."""
    target = tmp_path / "disk.img"
    target.write_bytes(b"\0" * IMAGE_SIZE)
    result = write_image(str(images.raw), str(target), grow_fs=True)
    assert result.status == "failed"
    assert result.exit_code == EXIT_USAGE
    assert target.read_bytes() == b"\0" * IMAGE_SIZE


# ------------------------------------------------------------------ the command


def test_cli_writes_an_image_file_and_prints_the_contract(images: Images, tmp_path: Path) -> None:
    target = tmp_path / "vm-disk.img"
    target.write_bytes(b"\0" * IMAGE_SIZE)
    outcome = CliRunner().invoke(
        weee, ["image", str(images.compressed["zst"]), str(target), "--yes", "--json"]
    )
    assert outcome.exit_code == 0, outcome.output
    doc = json.loads(outcome.stdout)
    assert set(doc) == {
        "schema", "status", "source", "device", "bytes_written", "image_bytes", "sha256",
        "bmap", "verification", "started_at", "ended_at", "duration_s", "error",
    }  # fmt: skip
    assert doc["schema"] == "weee-image/1"
    assert doc["status"] == "verified"
    assert doc["bmap"] is True and doc["verification"] == "bmap-ranges"
    assert doc["error"] is None
    assert sha256_file(target) == images.sha256


def test_cli_failure_prints_failed_json_and_exit_code(images: Images, tmp_path: Path) -> None:
    target = tmp_path / "small.img"
    target.write_bytes(b"\0" * (8 << 20))
    outcome = CliRunner().invoke(weee, ["image", str(images.raw), str(target), "--yes", "--json"])
    assert outcome.exit_code == EXIT_FAILED
    assert "larger than" in outcome.stderr


def test_cli_needs_yes_when_not_interactive(images: Images, tmp_path: Path) -> None:
    target = tmp_path / "disk.img"
    target.write_bytes(b"\0" * IMAGE_SIZE)
    outcome = CliRunner().invoke(weee, ["image", str(images.raw), str(target)])
    assert outcome.exit_code == EXIT_USAGE
    assert "--yes" in outcome.stderr
    assert target.read_bytes() == b"\0" * IMAGE_SIZE


def test_cli_dry_run_refuses_the_boot_disk(images: Images) -> None:
    """Plan only: the running system's disk is refused; nothing is opened for writing."""
    from agent import blockdev

    boot = blockdev.boot_disks(blockdev.read_facts())
    if not boot:
        pytest.skip("cannot tell which disk holds the running system here")
    disk = "/dev/" + sorted(boot)[0]
    outcome = CliRunner().invoke(
        weee, ["image", str(images.compressed["zst"]), disk, "--dry-run", "--json"]
    )
    assert outcome.exit_code == EXIT_REFUSED
    plan = json.loads(outcome.stdout)
    assert any("running system" in refusal for refusal in plan["refusals"])


def test_cli_refusal_still_prints_a_failed_result(images: Images, tmp_path: Path) -> None:
    """--json always yields the record's image result, even when nothing was written."""
    outcome = CliRunner().invoke(
        weee, ["image", str(tmp_path / "missing.img.zst"), str(images.raw), "--yes", "--json"]
    )
    assert outcome.exit_code == EXIT_USAGE
    doc = json.loads(outcome.stdout)
    assert doc["status"] == "failed" and "no such image file" in doc["error"]
    assert doc["bytes_written"] == 0 and doc["verification"] == "none"


@pytest.mark.parametrize("how", ["mounted", "backing-a-loop"])
@pytest.mark.root
@needs_root
def test_device_in_use_is_refused(images: Images, tmp_path: Path, how: str) -> None:
    """agent.blockdev's refusals apply (a mounted disk), plus a disk that backs another
    loop device (what ``mount -o offset=`` on a whole disk sets up)."""
    backing = tmp_path / "disk"
    mountpoint = tmp_path / "mnt"
    mountpoint.mkdir()
    with open(backing, "wb") as handle:
        handle.truncate(IMAGE_SIZE)
    offset = 0 if how == "mounted" else 1 << 20
    must(["mke2fs", "-q", "-t", "ext4", "-E", f"offset={offset}", str(backing), "16M"])
    device = must(["losetup", "--find", "--show", str(backing)]).strip()
    mounted = False
    try:
        options = "ro" if how == "mounted" else f"ro,offset={offset}"
        must(["mount", "-o", options, device, str(mountpoint)])
        mounted = True
        before = sha256_file(device, IMAGE_SIZE)
        result = write_image(str(images.compressed["zst"]), device, bmap=False)
        assert result.status == "failed"
        assert result.exit_code == EXIT_REFUSED
        expected = "is mounted" if how == "mounted" else "backing device of /dev/loop"
        assert expected in (result.error or "")
        assert sha256_file(device, IMAGE_SIZE) == before
    finally:
        if mounted:
            run_command(["umount", str(mountpoint)])
        run_command(["losetup", "-d", device])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--sha256", "xyz"], "64 hex digits"),
        (["--asset-id", "../etc/passwd"], "asset ID"),
        (["--grow-fs"], "block devices only"),
        (["--bmap", "x.bmap", "--no-bmap"], "contradict"),
    ],
    ids=["sha256", "asset-id", "grow-fs-on-file", "bmap-flags"],
)
def test_cli_bad_arguments_fail_before_anything_is_written(
    images: Images, tmp_path: Path, args: list[str], message: str
) -> None:
    target = tmp_path / "disk.img"
    target.write_bytes(b"\0" * IMAGE_SIZE)
    outcome = CliRunner().invoke(weee, ["image", str(images.raw), str(target), *args])
    assert outcome.exit_code == EXIT_USAGE
    assert message in outcome.stderr
    assert target.read_bytes() == b"\0" * IMAGE_SIZE


def test_image_file_target_grows_and_gets_asset_id(images: Images, tmp_path: Path) -> None:
    """A VM disk file bigger than the image: GPT repaired, last partition grown (its file
    system left alone: --grow-fs is for block devices), asset ID on the ESP."""
    target = tmp_path / "vm-disk.img"
    with open(target, "wb") as handle:
        handle.truncate(80 << 20)
    result = write_image(str(images.compressed["gz"]), str(target), grow=True, asset_id="A-1")
    assert result.status == "verified", result.error
    assert "No problems found" in must(["sgdisk", "-v", str(target)])
    gpt = read_gpt(str(target))
    assert gpt is not None and gpt.backup_lba == (80 << 20) // 512 - 1
    assert gpt.partitions[-1].last_lba == gpt.last_usable
    esp = f"{target}@@{gpt.partitions[0].first_lba * 512}"
    assert must(["mtype", "-i", esp, "::/weee/asset-id"]) == "A-1\n"
    assert must(["mtype", "-i", esp, "::/EFI/BOOT/BOOTX64.EFI"])  # the image's own files
    root = gpt.partitions[-1]
    assert run_fsck(f"{target}?offset={root.first_lba * 512}") == 0


@pytest.mark.root
@needs_root
def test_resumes_from_a_server_without_range_support(images: Images, tmp_path: Path) -> None:
    """The server sends the whole file again: the bytes already used are skipped."""
    control = ServerControl(drop_after=2_000_000, drops_left=1, ranges=False)
    with (
        http_server(images.folder, control) as (base, _),
        loop_device(tmp_path / "disk", IMAGE_SIZE) as device,
    ):
        result = write_image(f"{base}/os.img.zst", device, backoff_s=0.01)
        assert result.status == "verified", result.error
        assert _same_as_image(device, images)


@pytest.mark.root
@needs_root
def test_image_changed_on_the_server_fails(images: Images, tmp_path: Path) -> None:
    control = ServerControl(drop_after=2_000_000, drops_left=1, change_after_first=True)
    with (
        http_server(images.folder, control) as (base, _),
        loop_device(tmp_path / "disk", IMAGE_SIZE) as device,
    ):
        result = write_image(f"{base}/os.img.zst", device, backoff_s=0.01)
    assert result.status == "failed"
    assert "changed on the server" in (result.error or "")


def test_object_store_403_for_a_missing_bmap_is_no_bmap(images: Images, tmp_path: Path) -> None:
    """S3-like servers answer 403, not 404, for the bmap that is not there."""
    folder = tmp_path / "bucket"
    folder.mkdir()
    (folder / "os.img.zst").write_bytes(images.compressed["zst"].read_bytes())
    target = tmp_path / "disk.img"
    target.write_bytes(bytes(IMAGE_SIZE))
    with http_server(folder, ServerControl(missing_status=403)) as (base, control):
        result = write_image(f"{base}/os.img.zst", str(target))
    assert result.status == "verified", result.error
    assert result.bmap is False and result.sha256 == images.sha256
    assert sum(path.endswith(".bmap") for path, _ in control.requests) == 3


@pytest.mark.parametrize("sector", [512, 4096])
@pytest.mark.parametrize("size", [(1 << 20) + 100, (3 << 20) - 512])
@pytest.mark.root
@needs_root
def test_image_size_not_a_multiple_of_the_block_size(
    tmp_path: Path, size: int, sector: int
) -> None:
    """The unaligned tail goes through the ordinary descriptor; all of it is verified,
    on 512-byte and 4Kn disks."""
    image = random.Random(size).randbytes(size)
    source = tmp_path / "odd.img"
    source.write_bytes(image)
    with loop_device(tmp_path / "disk", 4 << 20, fill=b"\x77", sector_size=sector) as device:
        result = write_image(str(source), device)
        assert result.status == "verified", result.error
        disk = Path(device).read_bytes()
    assert disk[:size] == image and set(disk[size:]) == {0x77}
    assert result.bytes_written == size == result.image_bytes
