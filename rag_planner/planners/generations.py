"""
Generations: a plan library, its HNSW index and a generator as one signed unit.

A generation is a folder::

    generation.json   the manifest: format, generation_id, created, what it holds, and the
                      sha256 and size of every file below
    generation.sig    ed25519 signature (hex) of generation.json's exact bytes
    plan_library.jsonl
    index/            the library's HNSW index (build_index: its own manifest)
    generator/        the generator model (its own manifest)
    selftest.jsonl    held-out cases it must answer right before it serves

:func:`verify_generation` checks the signature with the operator's public key, then every
file's size and sha256: a generation that is unsigned, signed by another key, changed
after signing or incomplete raises a :class:`GenerationError` subclass and never serves.
The sha256 manifests of index and model catch damage; the signature catches a deliberate
change by anyone without the private key.  Keys are PyNaCl's ed25519 keys, written as hex.
"""

from dataclasses import dataclass
import json
import os
from pathlib import Path
from typing import Optional

import nacl.encoding
import nacl.exceptions
import nacl.signing

from rag_planner.errors import LoadError
from rag_planner.paths import sha256_file

FORMAT = 'rag_planner.generation/1'
MANIFEST = 'generation.json'
SIGNATURE = 'generation.sig'
LIBRARY = 'plan_library.jsonl'
INDEX = 'index'
GENERATOR = 'generator'
SELFTEST = 'selftest.jsonl'
REQUIRED = (LIBRARY, f'{INDEX}/manifest.json', f'{GENERATOR}/manifest.json', SELFTEST)
MAX_MANIFEST_BYTES = 1 << 20  # a manifest lists a few dozen files


class GenerationError(LoadError):
    """A generation that must not serve (the message says why)."""


class UnsignedGeneration(GenerationError):
    """The generation has no signature, or no key was configured to check one."""


class BadSignature(GenerationError):
    """The signature does not match the manifest under the configured public key."""


class DamagedGeneration(GenerationError):
    """A file is missing, or differs from what the signed manifest says."""


@dataclass(frozen=True)
class Generation:
    """A verified generation: where its parts are and what its manifest says."""

    generation_id: str
    root: Path
    manifest: dict

    @property
    def library_path(self) -> Path:
        """Return the plan library file."""
        return self.root / LIBRARY

    @property
    def index_dir(self) -> Path:
        """Return the HNSW index folder."""
        return self.root / INDEX

    @property
    def model_dir(self) -> Path:
        """Return the generator model folder."""
        return self.root / GENERATOR

    @property
    def selftest_path(self) -> Path:
        """Return the held-out cases of the self-test."""
        return self.root / SELFTEST


# ------------------------------------------------------------------------------ keys
def _read_key(path, key_type, what: str):
    try:
        text = Path(path).read_text().strip()
        return key_type(text.encode(), encoder=nacl.encoding.HexEncoder)
    except (OSError, ValueError, TypeError, nacl.exceptions.CryptoError) as exc:
        raise GenerationError(f'cannot read {what} {path}: {exc}') from None


def read_public_key(path) -> nacl.signing.VerifyKey:
    """Return the ed25519 public key in ``path`` (hex); GenerationError if unusable."""
    return _read_key(path, nacl.signing.VerifyKey, 'public key')


def read_signing_key(path) -> nacl.signing.SigningKey:
    """Return the ed25519 private key in ``path`` (hex)."""
    return _read_key(path, nacl.signing.SigningKey, 'signing key')


def new_keypair(prefix) -> tuple:
    """Write ``<prefix>.key`` (private, mode 600) and ``<prefix>.pub``; return both paths."""
    key = nacl.signing.SigningKey.generate()
    private, public = Path(f'{prefix}.key'), Path(f'{prefix}.pub')
    private.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, 'w') as handle:
        handle.write(key.encode(encoder=nacl.encoding.HexEncoder).decode() + '\n')
    public.write_text(key.verify_key.encode(encoder=nacl.encoding.HexEncoder).decode() + '\n')
    return private, public


# -------------------------------------------------------------------------- manifest
def file_table(root: Path) -> dict:
    """Return {relative path: {sha256, bytes}} of every file under ``root`` but the seal."""
    table = {}
    for path in sorted(p for p in root.rglob('*') if p.is_file()):
        rel = path.relative_to(root).as_posix()
        if rel not in (MANIFEST, SIGNATURE):
            table[rel] = {'sha256': sha256_file(path), 'bytes': path.stat().st_size}
    return table


def seal_generation(root, generation_id: str, signing_key: nacl.signing.SigningKey,
                    about: Optional[dict] = None) -> dict:
    """Write the manifest of every file in ``root`` and its signature; return the manifest."""
    root = Path(root)
    missing = [rel for rel in REQUIRED if not (root / rel).is_file()]
    if missing:
        raise DamagedGeneration(f'{root}: missing {", ".join(missing)}')
    manifest = {'format': FORMAT, 'generation_id': generation_id, **(about or {}),
                'files': file_table(root)}
    data = json.dumps(manifest, indent=1, sort_keys=True).encode()
    (root / MANIFEST).write_bytes(data)
    signature = signing_key.sign(data).signature
    (root / SIGNATURE).write_text(signature.hex() + '\n')
    return manifest


def verify_generation(root, public_key: Optional[nacl.signing.VerifyKey],
                      check_files: bool = True) -> Generation:
    """
    Return the generation in ``root`` if its signature and files check out.

    Raises UnsignedGeneration (no key, no signature), BadSignature (another key, or the
    manifest changed) or DamagedGeneration (a file missing, added to what is read, or
    changed; a malformed manifest).  ``root`` is resolved first, so a symlink flipped
    later does not change what was verified.
    """
    root = Path(root).resolve()
    if public_key is None:
        raise UnsignedGeneration('no generation_public_key is configured: a generation is '
                                 'loaded only when its signature can be checked')
    mpath, spath = root / MANIFEST, root / SIGNATURE
    try:
        if mpath.stat().st_size > MAX_MANIFEST_BYTES:
            raise DamagedGeneration(f'{mpath}: over {MAX_MANIFEST_BYTES} bytes')
        data = mpath.read_bytes()
    except FileNotFoundError:
        raise DamagedGeneration(f'{root}: no {MANIFEST} (not a generation)') from None
    except OSError as exc:
        raise DamagedGeneration(f'cannot read {mpath}: {exc}') from None
    try:
        signature = bytes.fromhex(spath.read_text().strip())
    except FileNotFoundError:
        raise UnsignedGeneration(f'{root}: no {SIGNATURE}: the generation is not signed') \
            from None
    except (OSError, ValueError) as exc:
        raise BadSignature(f'{spath}: unreadable signature ({exc})') from None
    try:
        public_key.verify(data, signature)
    except (nacl.exceptions.BadSignatureError, ValueError, TypeError):
        raise BadSignature(f'{root}: the signature does not match {MANIFEST} under the '
                           'configured public key (signed by another key, or changed '
                           'after signing)') from None
    try:
        manifest = json.loads(data)
    except ValueError as exc:
        raise DamagedGeneration(f'{mpath}: not JSON ({exc})') from None
    if not isinstance(manifest, dict) or manifest.get('format') != FORMAT or \
            not isinstance(manifest.get('files'), dict) or not manifest.get('generation_id'):
        raise DamagedGeneration(f'{mpath}: not a {FORMAT} manifest')
    if check_files:
        _check_files(root, manifest['files'])
    return Generation(str(manifest['generation_id']), root, manifest)


def _check_files(root: Path, files: dict) -> None:
    for rel in REQUIRED:
        if rel not in files:
            raise DamagedGeneration(f'{root}: the manifest does not list {rel}')
    for rel, want in files.items():
        path = root / rel
        if '..' in Path(rel).parts or not path.is_file():
            raise DamagedGeneration(f'{root}: {rel} is missing')
        if path.stat().st_size != want.get('bytes') or sha256_file(path) != want.get('sha256'):
            raise DamagedGeneration(f'{root}: {rel} differs from the signed manifest')
    for path in (root / INDEX, root / GENERATOR):
        for extra in path.rglob('*'):
            rel = extra.relative_to(root).as_posix()
            if extra.is_file() and rel not in files:
                raise DamagedGeneration(f'{root}: {rel} is not in the signed manifest')


__all__ = ['BadSignature', 'DamagedGeneration', 'Generation', 'GenerationError', 'new_keypair',
           'read_public_key', 'read_signing_key', 'seal_generation', 'UnsignedGeneration',
           'verify_generation']
