"""
make_generation: build, sign and check a generation (library + index + generator).

For the operator who adds validated plans to the library and rolls them out::

    make_generation keygen --out ~/keys/fleet            # fleet.key (keep it), fleet.pub
    make_generation build --library my_library.jsonl --key ~/keys/fleet.key
        --out /srv/rag_planner/generations/2026-12-02
    make_generation verify /srv/rag_planner/generations/2026-12-02 --public-key fleet.pub

``build`` validates the library (every plan against the safety rules), builds its HNSW
index with the shipped embedder, copies the generator (the shipped one by default),
writes a self-test of held-out cases (dev templates: tasks, refusals, unsafe and
low-battery tasks, with the answers DESIGN.md expects), runs the self-test and the safety
cases on the result, and only then writes the manifest and signs it.  A planner started
with ``generation_public_key:=fleet.pub generation_dir:=<dir>`` loads it; ``~/reload``
loads whatever ``generation_dir`` holds now (point a symlink at the new folder, then
call it).
"""

import argparse
from datetime import datetime, timezone
import json
from pathlib import Path
import shutil
import sys
import time
from typing import Optional

from rag_planner.domain.plan_grammar import format_plan
from rag_planner.paths import default_library_path, default_model_dir, sha256_file
from rag_planner.planners.generations import (
    GENERATOR, Generation, GenerationError, INDEX, LIBRARY, new_keypair, read_public_key,
    read_signing_key, seal_generation, SELFTEST, verify_generation)
from rag_planner.retrieval.index_build import build_index_dir
from rag_planner.serving.selftest import selftest_folder, selftest_generation
from rag_planner.training.eval_sets import make_cases

# held-out cases per subset in a generation's self-test (dev templates)
SELFTEST_MIX = (('in_scope', 40), ('out_of_scope', 6), ('missing_argument', 6),
                ('unsafe_blocked', 4), ('unsafe_quantity', 4), ('low_battery', 6))


def selftest_cases(seed: int = 7, split: str = 'dev') -> list:
    """Return the held-out self-test cases, in the safety cases' format."""
    cases = []
    for subset, n in SELFTEST_MIX:
        for i, case in enumerate(make_cases(subset, n, seed, split)):
            cases.append({'name': f'{subset}-{i}', 'task': case.task,
                          'state': case.state.to_dict(),
                          'expect': {'code': case.code.name, 'plan': format_plan(case.plan)}})
    return cases


def build_generation(library: Path, out: Path, signing_key_path: Path,
                     model_dir: Optional[Path] = None, generation_id: str = '',
                     log=print) -> dict:
    """Build, self-test and sign a generation in ``out`` (new folder); return its manifest."""
    signing_key = read_signing_key(signing_key_path)
    if out.exists():
        raise GenerationError(f'{out} exists: a generation is never rebuilt in place')
    work = out.with_name(out.name + '.partial')
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    shutil.copyfile(library, work / LIBRARY)
    log(f'indexing {library}')
    index = build_index_dir(work / LIBRARY, work / INDEX)
    shutil.copytree(model_dir or default_model_dir(), work / GENERATOR)
    cases = selftest_cases()
    with open(work / SELFTEST, 'w') as handle:
        for case in cases:
            handle.write(json.dumps(case, sort_keys=True) + '\n')
    report = selftest_folder(Generation('unsigned', work, {}), log=log)
    if not report.ok:
        raise GenerationError(f'not signed: {report.summary()}')
    log(report.summary())
    gid = generation_id or 'gen-{}-{}'.format(
        datetime.now(timezone.utc).strftime('%Y%m%dT%H%M%SZ'),
        sha256_file(work / LIBRARY)[:8])
    manifest = seal_generation(work, gid, signing_key, about={
        'created_utc': datetime.now(timezone.utc).isoformat(timespec='seconds'),
        'library_version': index.meta.library_version, 'library_entries': len(index),
        'embedder_model_id': index.meta.model_id,
        'generator_model_id': json.loads((work / GENERATOR / 'manifest.json').read_text())
        .get('model_id', ''),
        'selftest_cases': len(cases)})
    work.rename(out)
    return manifest


def main(argv: Optional[list] = None) -> int:
    """Run the command line tool."""
    parser = argparse.ArgumentParser(prog='make_generation', description=__doc__.split('\n')[1])
    sub = parser.add_subparsers(dest='command', required=True)
    keygen = sub.add_parser('keygen', help='make an ed25519 key pair: PREFIX.key, PREFIX.pub')
    keygen.add_argument('--out', type=Path, required=True, help='path prefix of the keys')
    build = sub.add_parser('build', help='build, self-test and sign a generation')
    build.add_argument('--library', type=Path, default=None,
                       help='plan library JSONL (default: the shipped one)')
    build.add_argument('--model-dir', type=Path, default=None,
                       help='generator model folder (default: the shipped one)')
    build.add_argument('--key', type=Path, required=True, help='private key (PREFIX.key)')
    build.add_argument('--out', type=Path, required=True, help='new generation folder')
    build.add_argument('--id', default='', help='generation id (default: gen-<time>-<sha>)')
    verify = sub.add_parser('verify', help='check a generation as a planner would')
    verify.add_argument('folder', type=Path)
    verify.add_argument('--public-key', type=Path, required=True)
    verify.add_argument('--selftest', action='store_true', help='also run its self-test')
    args = parser.parse_args(argv)
    start = time.perf_counter()
    try:
        if args.command == 'keygen':
            private, public = new_keypair(args.out)
            print(f'make_generation: wrote {private} (private: keep it off the robots) '
                  f'and {public}')
        elif args.command == 'build':
            manifest = build_generation(args.library or default_library_path(), args.out,
                                        args.key, args.model_dir)
            print(f'make_generation: {manifest["generation_id"]} in {args.out} '
                  f'({manifest["library_entries"]} plans, {len(manifest["files"])} files) in '
                  f'{time.perf_counter() - start:.1f} s')
        else:
            if args.selftest:
                generation, report = selftest_generation(args.folder, args.public_key)
            else:
                generation = verify_generation(args.folder, read_public_key(args.public_key))
            line = f'make_generation: {generation.generation_id}: signature and files OK'
            if args.selftest:
                line += f'; {report.summary()}'
                if not report.ok:
                    print(line, file=sys.stderr)
                    return 1
            print(line)
    except (GenerationError, OSError, ValueError) as exc:
        print(f'make_generation: {exc}', file=sys.stderr)
        return 2
    return 0


if __name__ == '__main__':
    sys.exit(main())
