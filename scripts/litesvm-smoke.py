#!/usr/bin/env python3
"""LiteSVM smoke test of a built SBF program (PyPI `solders`, which ships LiteSVM).

    python3 scripts/litesvm-smoke.py [target/deploy/leveraged_token.so]
        Load the leveraged-token `.so` at the program id, send
        `initialize_config` (admin = a funded keypair, treasury = a fixed key)
        and check the config PDA: owned by the program, 110 bytes, Anchor's
        `Config` discriminator, admin / pending admin / treasury / pause flags /
        bump / market count as the instruction sets them, and the
        `ConfigInitialized` event in the logs. Prints the compute units.

    python3 scripts/litesvm-smoke.py --spl-token PATH
        The same harness against any SPL Token `.so` (e.g. the one
        solana-program-test ships): load it at a fresh program id, send
        `InitializeMint2` and check the mint account. Proves the harness
        (load a `.so`, send, read back) where our own `.so` cannot be built.

Needs `pip install "solders==0.29.*"`. Exits non-zero on any failure.
"""

import base64
import hashlib
import struct
import sys
from pathlib import Path

from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.litesvm import LiteSVM
from solders.message import Message
from solders.pubkey import Pubkey
from solders.transaction import Transaction

PROGRAM_ID = Pubkey.from_string("C9uyyqiLLhH1kmGtrcyCWr5vJGWWSkzPB9yEUvZ655nv")
SYSTEM_PROGRAM = Pubkey.from_string("11111111111111111111111111111111")
CONFIG_SPACE = 8 + 32 * 3 + 1 + 1 + 4


def sighash(namespace: str, name: str) -> bytes:
    """Anchor's 8-byte discriminator: sha256("<namespace>:<name>")[..8]."""
    return hashlib.sha256(f"{namespace}:{name}".encode()).digest()[:8]


def fail(msg: str, logs=None) -> None:
    print(f"litesvm-smoke: FAIL: {msg}", file=sys.stderr)
    for line in logs or []:
        print(f"  {line}", file=sys.stderr)
    sys.exit(1)


def send(svm: LiteSVM, ix: Instruction, payer: Keypair, *signers: Keypair):
    msg = Message.new_with_blockhash([ix], payer.pubkey(), svm.latest_blockhash())
    tx = Transaction([payer, *signers], msg, svm.latest_blockhash())
    out = svm.send_transaction(tx)
    if not hasattr(out, "compute_units_consumed"):  # FailedTransactionMetadata
        fail(f"transaction failed: {out.err()}", out.meta().logs())
    return out


def leveraged_token(so: Path) -> None:
    svm = LiteSVM()
    svm.add_program_from_file(PROGRAM_ID, str(so))
    admin = Keypair()
    svm.airdrop(admin.pubkey(), 10_000_000_000)
    treasury = Pubkey.from_bytes(bytes([9]) * 32)
    config, bump = Pubkey.find_program_address([b"config"], PROGRAM_ID)

    ix = Instruction(
        PROGRAM_ID,
        sighash("global", "initialize_config") + bytes(treasury),
        [
            AccountMeta(admin.pubkey(), is_signer=True, is_writable=True),
            AccountMeta(config, is_signer=False, is_writable=True),
            AccountMeta(SYSTEM_PROGRAM, is_signer=False, is_writable=False),
        ],
    )
    out = send(svm, ix, admin)
    logs = list(out.logs())

    acc = svm.get_account(config)
    if acc is None:
        fail("config account not created", logs)
    data = bytes(acc.data)
    if acc.owner != PROGRAM_ID:
        fail(f"config owner {acc.owner}, expected {PROGRAM_ID}", logs)
    if len(data) != CONFIG_SPACE:
        fail(f"config is {len(data)} bytes, expected {CONFIG_SPACE}", logs)
    if data[:8] != sighash("account", "Config"):
        fail("config does not start with Anchor's Config discriminator", logs)
    got_admin, pending, got_treasury = data[8:40], data[40:72], data[72:104]
    pause_flags, got_bump = data[104], data[105]
    (market_count,) = struct.unpack_from("<I", data, 106)
    want = (bytes(admin.pubkey()), bytes(32), bytes(treasury), 0, bump, 0)
    got = (got_admin, pending, got_treasury, pause_flags, got_bump, market_count)
    if got != want:
        fail(f"config fields {got} != {want}", logs)
    rent = svm.minimum_balance_for_rent_exemption(CONFIG_SPACE)
    if acc.lamports != rent:
        fail(f"config holds {acc.lamports} lamports, rent-exempt minimum is {rent}", logs)

    event = sighash("event", "ConfigInitialized") + bytes(admin.pubkey()) + bytes(treasury)
    events = [base64.b64decode(l.split("Program data: ", 1)[1]) for l in logs if "Program data: " in l]
    if event not in events:
        fail("no ConfigInitialized event with the admin and treasury in the logs", logs)

    print(f"litesvm-smoke: {so}: initialize_config ok — config {config} (bump {bump}, {len(data)} bytes, {acc.lamports} lamports), "
          f"ConfigInitialized emitted, {out.compute_units_consumed()} CU")


def spl_token(so: Path) -> None:
    svm = LiteSVM()
    program = Keypair().pubkey()  # a fresh id: this load, not LiteSVM's bundled SPL Token
    svm.add_program_from_file(program, str(so))
    payer, mint, authority = Keypair(), Keypair(), Keypair()
    svm.airdrop(payer.pubkey(), 10_000_000_000)
    space = 82
    lamports = svm.minimum_balance_for_rent_exemption(space)

    # System CreateAccount (index 0): lamports u64, space u64, owner.
    create = Instruction(
        SYSTEM_PROGRAM,
        struct.pack("<IQQ", 0, lamports, space) + bytes(program),
        [AccountMeta(payer.pubkey(), True, True), AccountMeta(mint.pubkey(), True, True)],
    )
    # SPL Token InitializeMint2 (20): decimals, mint authority, no freeze authority.
    init = Instruction(program, bytes([20, 6]) + bytes(authority.pubkey()) + bytes([0]), [AccountMeta(mint.pubkey(), False, True)])
    msg = Message.new_with_blockhash([create, init], payer.pubkey(), svm.latest_blockhash())
    out = svm.send_transaction(Transaction([payer, mint], msg, svm.latest_blockhash()))
    if not hasattr(out, "compute_units_consumed"):
        fail(f"transaction failed: {out.err()}", out.meta().logs())
    logs = list(out.logs())
    if f"Program {program} invoke [1]" not in logs:
        fail(f"the loaded program {program} did not run", logs)

    acc = svm.get_account(mint.pubkey())
    data = bytes(acc.data)
    # Mint: COption<Pubkey> authority (4 + 32), supply u64, decimals u8, is_initialized bool, COption freeze.
    (tag,) = struct.unpack_from("<I", data, 0)
    (supply,) = struct.unpack_from("<Q", data, 36)
    got = (acc.owner, len(data), tag, data[4:36], supply, data[44], data[45])
    want = (program, space, 1, bytes(authority.pubkey()), 0, 6, 1)
    if got != want:
        fail(f"mint {got} != {want}", logs)
    print(f"litesvm-smoke: {so}: loaded at {program}, InitializeMint2 ok — mint {mint.pubkey()} "
          f"(authority set, 6 decimals, initialized), {out.compute_units_consumed()} CU")


def main(argv) -> None:
    if len(argv) >= 2 and argv[0] == "--spl-token":
        so = Path(argv[1])
        if not so.is_file():
            fail(f"{so} not found")
        spl_token(so)
        return
    so = Path(argv[0] if argv else "target/deploy/leveraged_token.so")
    if not so.is_file():
        fail(f"{so} not found (anchor build writes it)")
    leveraged_token(so)


if __name__ == "__main__":
    main(sys.argv[1:])
