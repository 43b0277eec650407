"""Building the Docker sandbox's image, from a registry or offline.

Two recipes give the same image: Python 3.11 with numpy, the toolchains of the other
languages programs may be written in (LANGUAGE_PACKAGES, Debian bookworm's), and
sandbox/worker.py as the entry point, with sandbox/languages.py beside it and what it prepares
(the Rust crates, the Go cache) under /opt/codeharness. The registry recipe is
sandbox/image/Dockerfile (an official Python base image, Debian packages from apt). The
offline recipe makes a Debian root filesystem with debootstrap, imports it as a base image,
then adds the worker (sandbox/image/offline.Dockerfile).

Tags record the recipe: `codeharness-sandbox:<recipe>-r<version>-<digest>`, where the digest
covers the recipe's files and the worker, so a changed worker never runs from a stale image.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path

from codeharness.core.errors import HarnessError

RECIPE_VERSION = 2
REPOSITORY = "codeharness-sandbox"
BASE_REPOSITORY = "codeharness-sandbox-base"
RECIPES = ("offline", "registry")
DEBIAN_SUITE = "bookworm"
# Toolchains of the languages other than Python (sandbox/languages.py), from Debian bookworm;
# sandbox/image/Dockerfile installs the same list.
LANGUAGE_PACKAGES = (
    "g++", "libboost-dev", "libssl-dev", "golang-go", "golang-github-stretchr-testify-dev",
    "default-jdk-headless", "libjavatuples-java", "nodejs", "node-typescript", "rustc", "cargo",
    "librust-rand-dev", "librust-regex+default-dev", "librust-md5-dev", "lua5.3", "lua-unit",
    "php-cli", "ruby", "libtest-deep-perl", "r-base-core", "racket", "scala", "mono-mcs",
    "mono-runtime", "gdc")
# debootstrap installs these; apt, in the new tree, the languages' (debootstrap's own
# resolver fails on the Rust crates' feature packages).
DEBIAN_PACKAGES = ("python3", "python3-numpy")
IMAGE_DIR = Path(__file__).with_name("image")
WORKER_SCRIPT = Path(__file__).with_name("worker.py")
LANGUAGES_SCRIPT = Path(__file__).with_name("languages.py")
DOCKERFILES = {"registry": "Dockerfile", "offline": "offline.Dockerfile"}
APT_ARCHIVES = "/var/cache/apt/archives"
# Removed from the debootstrap tree: package caches and documentation, about 150 MB.
TRIMMED = ("var/cache/apt", "var/lib/apt/lists", "usr/share/doc", "usr/share/man",
           "usr/share/locale")


def _digest(*parts: bytes) -> str:
    hasher = hashlib.sha256()
    for part in parts:
        hasher.update(hashlib.sha256(part).digest())
    return hasher.hexdigest()[:12]


def base_tag() -> str:
    recipe = (f"{RECIPE_VERSION} {DEBIAN_SUITE} {' '.join(DEBIAN_PACKAGES)} "
              f"{' '.join(LANGUAGE_PACKAGES)} {TRIMMED}")
    return f"{BASE_REPOSITORY}:{DEBIAN_SUITE}-r{RECIPE_VERSION}-{_digest(recipe.encode())}"


def image_tag(recipe: str) -> str:
    dockerfile = (IMAGE_DIR / DOCKERFILES[recipe]).read_bytes()
    parts = [dockerfile, WORKER_SCRIPT.read_bytes(), LANGUAGES_SCRIPT.read_bytes()]
    if recipe == "offline":
        parts.append(base_tag().encode())
    return f"{REPOSITORY}:{recipe}-r{RECIPE_VERSION}-{_digest(*parts)}"


def find_image(client) -> str:
    """The tag of an image built from the current recipes. When only the worker changed
    since the offline base was made, layering it on takes seconds and is done here."""
    for recipe in RECIPES:
        if _exists(client, image_tag(recipe)):
            return image_tag(recipe)
    if _exists(client, base_tag()):
        return build_image(client, offline=True, log=lambda line: print(line, file=sys.stderr))
    raise HarnessError(
        f"no Docker sandbox image for this version of the worker ({image_tag('offline')} or "
        f"{image_tag('registry')}): run `codeharness sandbox build --offline` (no registry "
        "needed) or `codeharness sandbox build`")


def build_image(client, offline: bool, log: Callable[[str], None]) -> str:
    recipe = "offline" if offline else "registry"
    tag = image_tag(recipe)
    buildargs = {}
    if offline:
        buildargs["BASE"] = _offline_base(client, log)
    log(f"building {tag}")
    return _docker_build(client, recipe, tag, buildargs)


def _docker_build(client, recipe: str, tag: str, buildargs: dict) -> str:
    from docker.errors import BuildError

    context = io.BytesIO()
    with tarfile.open(fileobj=context, mode="w") as tar:
        tar.add(IMAGE_DIR / DOCKERFILES[recipe], arcname=DOCKERFILES[recipe])
        tar.add(WORKER_SCRIPT, arcname="worker.py")
        tar.add(LANGUAGES_SCRIPT, arcname="languages.py")
    context.seek(0)
    try:
        client.images.build(fileobj=context, custom_context=True, dockerfile=DOCKERFILES[recipe],
                            tag=tag, buildargs=buildargs, rm=True, forcerm=True,
                            labels={"codeharness.recipe": f"{recipe}-r{RECIPE_VERSION}"})
    except BuildError as exc:
        hint = "" if recipe == "offline" else "; without a registry use --offline"
        raise HarnessError(f"building the sandbox image {tag} failed: {exc}{hint}") from exc
    return tag


def _install_in_tree(rootfs: Path, packages: tuple[str, ...]) -> None:
    """apt-get install packages in a debootstrap tree (chroot), from Debian's mirror, reusing
    the host's downloaded packages; /proc and the archive folder are mounted only meanwhile."""
    shutil.copy("/etc/resolv.conf", rootfs / "etc" / "resolv.conf")
    mounts = [("proc", rootfs / "proc", ["-t", "proc"])]
    if os.path.isdir(APT_ARCHIVES):
        mounts.append((APT_ARCHIVES, rootfs / "var" / "cache" / "apt" / "archives", ["--bind"]))
    mounted = []
    try:
        for source, target, options in mounts:
            target.mkdir(parents=True, exist_ok=True)
            subprocess.run(["mount", *options, source, str(target)], check=True, capture_output=True)
            mounted.append(target)
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "DEBIAN_FRONTEND": "noninteractive",
               "LANG": "C.UTF-8"}
        for command in (["apt-get", "update", "-q"],
                        ["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages]):
            result = subprocess.run(["chroot", str(rootfs), *command], env=env, capture_output=True,
                                    text=True)
            if result.returncode != 0:
                raise HarnessError(f"{' '.join(command[:2])} in the image's tree failed:\n"
                                   f"{result.stdout[-2000:]}{result.stderr[-2000:]}")
    finally:
        for target in reversed(mounted):
            subprocess.run(["umount", "-l", str(target)], capture_output=True)
    (rootfs / "etc" / "resolv.conf").unlink(missing_ok=True)


def _exists(client, tag: str) -> bool:
    from docker.errors import ImageNotFound

    try:
        client.images.get(tag)
        return True
    except ImageNotFound:
        return False


def _offline_base(client, log: Callable[[str], None]) -> str:
    """Import a debootstrap root filesystem as the base image, unless it already exists."""
    tag = base_tag()
    if _exists(client, tag):
        log(f"base image {tag} exists")
        return tag
    if shutil.which("debootstrap") is None or os.geteuid() != 0:
        raise HarnessError("the offline image recipe needs root and debootstrap "
                           "(apt-get install debootstrap)")
    repository, _, version = tag.partition(":")
    with tempfile.TemporaryDirectory(prefix="codeharness-rootfs-") as scratch:
        rootfs = Path(scratch) / "rootfs"
        log(f"debootstrap {DEBIAN_SUITE} with {', '.join(DEBIAN_PACKAGES)} (a few minutes)")
        command = ["debootstrap", "--variant=minbase", f"--include={','.join(DEBIAN_PACKAGES)}"]
        if os.access(APT_ARCHIVES, os.W_OK):  # the packages apt already fetched for the host
            command.append(f"--cache-dir={APT_ARCHIVES}")
        command += [DEBIAN_SUITE, str(rootfs)]
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            raise HarnessError(f"debootstrap failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
        log(f"apt-get install {', '.join(LANGUAGE_PACKAGES)} in it (several minutes)")
        _install_in_tree(rootfs, LANGUAGE_PACKAGES)
        for path in TRIMMED:
            shutil.rmtree(rootfs / path, ignore_errors=True)
        archive = Path(scratch) / "rootfs.tar"
        log(f"importing {tag}")
        with tarfile.open(archive, "w") as tar:
            tar.add(rootfs, arcname=".")
        client.api.import_image_from_file(str(archive), repository=repository, tag=version)
    return tag
