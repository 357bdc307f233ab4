//! Declarative deployment: a TOML file ([`DeployConfig`]) says what should
//! exist — the config with its treasury, markets (collateral mint, oracle,
//! parameters) and their tokens (target leverage, parameters). [`plan`] reads
//! the chain and returns only the [`DeployAction`]s that close the gap; [`apply`]
//! sends them, one transaction each, signed by the admin. Running it again
//! plans nothing and sends nothing; a run stopped half-way is finished by the
//! next one.
//!
//! Any parameter left out of the file takes its value from [`crate::defaults`]
//! (token defaults scale the keeper reward with the collateral mint's
//! decimals, read from the chain). A change of those defaults therefore shows
//! up in the next plan as an update.
//!
//! Parameter changes are timelocked by the program: a plan proposes them,
//! and a run after the config's delay applies them (the plan lists pending
//! changes and when each becomes applicable). A pending change that no longer
//! matches the file is cancelled and proposed anew.
//!
//! Nothing is sent unless every check passes first: placeholders and typos in
//! the file, parameters the program's own `validate` would refuse, a config
//! owned by another admin or with another treasury (the program cannot change
//! a treasury), a missing collateral mint, and an oracle that `create_market`
//! would refuse (checked with the program's own `oracle::check_price`).

use std::collections::BTreeSet;
use std::fmt;
use std::path::Path;
use std::str::FromStr;

use anchor_lang::prelude::{Clock, Pubkey};
use anchor_lang::solana_program::program_pack::Pack;
use anchor_lang::AccountDeserialize;
use anchor_spl::token::spl_token;
use leveraged_token::collateral::{self, CollateralIssue};
use leveraged_token::oracle::{check_price, OracleSpec};
use leveraged_token::state::{Config, LeveragedToken, Market, MarketParams, OracleKind, ParamChange, ParamProposal, TokenParams};
use serde::Deserialize;
use solana_account::Account;
use solana_keypair::Keypair;
use solana_signer::Signer;
use solana_transaction::Transaction;
use solana_transaction_error::TransactionError;

use crate::chain::{Chain, ChainError};
use crate::{defaults, ix, pda, MarketKeys, TokenKeys, PROGRAM_ID};

// --- the file -------------------------------------------------------------------

/// A deployment as written in `migrations/<cluster>.toml`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DeployConfig {
    /// Cluster name (`localnet`, `devnet`, `mainnet-beta`): messages and the default RPC URL.
    #[serde(default)]
    pub cluster: Option<String>,
    /// RPC URL (the command line's `--url` wins).
    #[serde(default)]
    pub url: Option<String>,
    /// The program id this file is for; refused if this SDK was built for another.
    #[serde(default)]
    pub program_id: Option<String>,
    /// Owner of the treasury's fee token accounts: a public key, or `"admin"`
    /// for the deploying keypair. Set once: the program has no instruction to change it.
    pub treasury: String,
    /// Timelock on parameter changes in seconds, set when the config is
    /// created (default a day; 0 only for a program built with `local-cluster`).
    #[serde(default)]
    pub param_delay_secs: Option<i64>,
    #[serde(default)]
    pub markets: Vec<MarketSpec>,
}

/// The parameter delay a config gets when the file does not say.
pub const DEFAULT_PARAM_DELAY_SECS: i64 = 86_400;

/// One market: a collateral mint and a Pyth feed.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MarketSpec {
    /// A label for the plan (default: `market[i]`).
    #[serde(default)]
    pub name: Option<String>,
    pub collateral_mint: String,
    /// `legacy` (Pyth price account, pinned by address) or `pull` (PriceUpdateV2, pinned by feed id).
    pub oracle_kind: OracleKindSpec,
    /// Legacy: the price account. Pull: a fresh `PriceUpdateV2` account for
    /// the feed, read once by `create_market` (not needed once the market exists).
    #[serde(default)]
    pub oracle: Option<String>,
    /// Pull only: the Pyth feed id, 64 hex characters (optional `0x`).
    #[serde(default)]
    pub feed_id: Option<String>,
    /// The collateral mint's freeze authority, named to accept trusting its
    /// issuer (it could freeze the pool vault); required when the mint has one.
    #[serde(default)]
    pub trusted_freeze_authority: Option<String>,
    #[serde(default)]
    pub params: MarketParamsSpec,
    #[serde(default)]
    pub tokens: Vec<TokenSpec>,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum OracleKindSpec {
    Legacy,
    Pull,
}

/// One leveraged token of a market.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TokenSpec {
    /// Signed, in bps: 30000 = 3x long, -10000 = 1x short. Part of the token's address.
    pub target_leverage_bps: i32,
    #[serde(default)]
    pub params: TokenParamsSpec,
}

pub use crate::params::{diff_market_params, diff_token_params, MarketParamsSpec, TokenParamsSpec};

impl MarketParamsSpec {
    /// Omitted fields come from [`defaults::market_params`].
    pub fn resolve(&self) -> MarketParams {
        self.overlay(defaults::market_params())
    }
}

impl TokenParamsSpec {
    /// Omitted fields come from [`defaults::token_params`]; `one_unit` is
    /// 10^decimals of the collateral mint (the default keeper reward).
    pub fn resolve(&self, target_leverage_bps: i32, one_unit: u64) -> TokenParams {
        self.overlay(defaults::token_params(target_leverage_bps, one_unit))
    }
}

impl DeployConfig {
    pub fn from_toml_str(text: &str) -> Result<Self, DeployError> {
        toml::from_str(text).map_err(|e| DeployError::Config(format!("not a valid deploy config: {e}")))
    }

    pub fn load(path: &Path) -> Result<Self, DeployError> {
        let text = std::fs::read_to_string(path).map_err(|e| DeployError::Config(format!("reading {}: {e}", path.display())))?;
        toml::from_str(&text).map_err(|e| DeployError::Config(format!("{} is not a valid deploy config: {e}", path.display())))
    }

    /// The RPC URL: the file's `url`, else the public one of its `cluster`.
    pub fn default_url(&self) -> Option<String> {
        self.url.clone().or_else(|| {
            match self.cluster.as_deref()? {
                "localnet" | "localhost" => Some("http://127.0.0.1:8899"),
                "devnet" => Some("https://api.devnet.solana.com"),
                "testnet" => Some("https://api.testnet.solana.com"),
                "mainnet" | "mainnet-beta" => Some("https://api.mainnet-beta.solana.com"),
                _ => None,
            }
            .map(str::to_string)
        })
    }

    /// Check everything that needs no chain: placeholders, addresses, feed
    /// ids, duplicates and market parameters. `admin` stands in for `"admin"`.
    pub fn resolve(&self, admin: Pubkey) -> Result<Desired, DeployError> {
        if let Some(id) = &self.program_id {
            let id = parse_pubkey("program_id", id, "the program id from Anchor.toml")?;
            if id != PROGRAM_ID {
                return Err(DeployError::Config(format!("program_id: the file is for {id}, but this build of the SDK targets {PROGRAM_ID} (declare_id! in the program)")));
            }
        }
        let treasury = if self.treasury.trim() == "admin" { admin } else { parse_pubkey("treasury", &self.treasury, "the treasury's public key")? };
        let mut markets = Vec::with_capacity(self.markets.len());
        let mut seen_markets = BTreeSet::new();
        for (i, m) in self.markets.iter().enumerate() {
            let label = m.name.clone().unwrap_or_else(|| format!("market[{i}]"));
            let at = format!("markets[{i}] ({label})");
            let mint = parse_pubkey(&format!("{at}.collateral_mint"), &m.collateral_mint, "the collateral mint")?;
            let (kind, keys) = match m.oracle_kind {
                OracleKindSpec::Legacy => {
                    if m.feed_id.is_some() {
                        return Err(DeployError::Config(format!("{at}.feed_id: a legacy market is pinned by its price account (`oracle`); feed_id is for oracle_kind = \"pull\"")));
                    }
                    let oracle = m.oracle.as_deref().ok_or_else(|| DeployError::Config(format!("{at}.oracle: a legacy market needs its Pyth price account address")))?;
                    let oracle = parse_pubkey(&format!("{at}.oracle"), oracle, "the Pyth price account address for this cluster")?;
                    (OracleKind::PythLegacy, MarketKeys::legacy(oracle, mint))
                }
                OracleKindSpec::Pull => {
                    let feed = m.feed_id.as_deref().ok_or_else(|| DeployError::Config(format!("{at}.feed_id: a pull market needs its Pyth feed id (64 hex characters)")))?;
                    let feed = parse_feed_id(&format!("{at}.feed_id"), feed)?;
                    let update = match &m.oracle {
                        Some(o) => Some(parse_pubkey(&format!("{at}.oracle"), o, "a PriceUpdateV2 account of the feed")?),
                        None => None,
                    };
                    (OracleKind::PythPull, MarketKeys::pull(feed, update.unwrap_or_default(), mint))
                }
            };
            if !seen_markets.insert(keys.market) {
                return Err(DeployError::Config(format!("{at}: the same oracle and collateral mint appear twice (market {})", keys.market)));
            }
            let params = m.params.resolve();
            if params.validate().is_err() {
                return Err(DeployError::Config(format!("{at}.params: MarketParams::validate refuses {params:?} (the line above says which bound)")));
            }
            let mut tokens = Vec::with_capacity(m.tokens.len());
            let mut seen_tokens = BTreeSet::new();
            for (j, t) in m.tokens.iter().enumerate() {
                let tl = format!("{label} {}", leverage_label(t.target_leverage_bps));
                if !seen_tokens.insert(t.target_leverage_bps) {
                    return Err(DeployError::Config(format!("{at}.tokens[{j}] ({tl}): target_leverage_bps {} appears twice", t.target_leverage_bps)));
                }
                tokens.push(DesiredToken { label: tl, at: format!("{at}.tokens[{j}]"), keys: keys.token(t.target_leverage_bps), params: t.params.clone() });
            }
            let has_update_account = kind == OracleKind::PythLegacy || m.oracle.is_some();
            let trusted_freeze_authority = match &m.trusted_freeze_authority {
                Some(a) => Some(parse_pubkey(&format!("{at}.trusted_freeze_authority"), a, "the collateral mint's freeze authority")?),
                None => None,
            };
            markets.push(DesiredMarket { label, at, kind, keys, has_update_account, trusted_freeze_authority, params, tokens });
        }
        Ok(Desired { treasury, param_delay_secs: self.param_delay_secs.unwrap_or(DEFAULT_PARAM_DELAY_SECS), markets })
    }
}

const PLACEHOLDER_MARKERS: [&str; 6] = ["fill", "todo", "placeholder", "changeme", "<", "xxx"];

fn is_placeholder(value: &str) -> bool {
    let v = value.trim().to_ascii_lowercase();
    v.is_empty() || PLACEHOLDER_MARKERS.iter().any(|m| v.contains(m))
}

fn parse_pubkey(at: &str, value: &str, what: &str) -> Result<Pubkey, DeployError> {
    // Parse first: a real base58 address may well contain "xxx" or "ToDo".
    let Ok(key) = Pubkey::from_str(value.trim()) else {
        if is_placeholder(value) {
            return Err(DeployError::Config(format!("{at} is still the placeholder {value:?}: fill in {what} before applying")));
        }
        return Err(DeployError::Config(format!("{at}: {value:?} is not a base58 public key ({what})")));
    };
    if key == Pubkey::default() {
        return Err(DeployError::Config(format!("{at}: the all-zero key is not {what}")));
    }
    Ok(key)
}

fn parse_feed_id(at: &str, value: &str) -> Result<[u8; 32], DeployError> {
    if is_placeholder(value) {
        return Err(DeployError::Config(format!("{at} is still the placeholder {value:?}: fill in the Pyth feed id before applying")));
    }
    let s = value.trim().trim_start_matches("0x");
    if s.len() != 64 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(DeployError::Config(format!("{at}: expected 64 hex characters, got {value:?}")));
    }
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).expect("checked hex");
    }
    Ok(out)
}

/// `30000` → `3x long`, `-10000` → `1x short`, `25000` → `2.5x long`.
pub fn leverage_label(bps: i32) -> String {
    let t = bps.unsigned_abs();
    let whole = t / 10_000;
    let frac = t % 10_000;
    let num = if frac == 0 { format!("{whole}") } else { format!("{whole}.{}", format!("{frac:04}").trim_end_matches('0')) };
    format!("{num}x {}", if bps < 0 { "short" } else { "long" })
}

/// The file after the checks that need no chain.
#[derive(Debug, Clone)]
pub struct Desired {
    pub treasury: Pubkey,
    pub param_delay_secs: i64,
    pub markets: Vec<DesiredMarket>,
}

#[derive(Debug, Clone)]
pub struct DesiredMarket {
    pub label: String,
    /// Where in the file, for messages.
    pub at: String,
    pub kind: OracleKind,
    pub keys: MarketKeys,
    /// Legacy, or pull with an update account given: the market can be created.
    pub has_update_account: bool,
    pub trusted_freeze_authority: Option<Pubkey>,
    pub params: MarketParams,
    pub tokens: Vec<DesiredToken>,
}

#[derive(Debug, Clone)]
pub struct DesiredToken {
    pub label: String,
    pub at: String,
    pub keys: TokenKeys,
    pub params: TokenParamsSpec,
}

// --- the plan ---------------------------------------------------------------------

/// One changed field: name, on-chain value, wanted value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldDiff {
    pub field: &'static str,
    pub old: String,
    pub new: String,
}

impl fmt::Display for FieldDiff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} -> {}", self.field, self.old, self.new)
    }
}

/// One transaction of the plan.
#[derive(Debug, Clone, PartialEq)]
pub enum DeployAction {
    InitConfig {
        treasury: Pubkey,
        param_delay_secs: i64,
    },
    CreateMarket {
        label: String,
        keys: MarketKeys,
        oracle_kind: OracleKind,
        params: MarketParams,
        trusted_freeze_authority: Option<Pubkey>,
    },
    ProposeMarketParams {
        label: String,
        market: Pubkey,
        params: MarketParams,
        diff: Vec<FieldDiff>,
    },
    ApplyMarketParams {
        label: String,
        market: Pubkey,
        proposer: Pubkey,
        diff: Vec<FieldDiff>,
    },
    CreateToken {
        label: String,
        keys: TokenKeys,
        params: TokenParams,
    },
    ProposeTokenParams {
        label: String,
        token: Pubkey,
        params: TokenParams,
        diff: Vec<FieldDiff>,
    },
    ApplyTokenParams {
        label: String,
        keys: TokenKeys,
        proposer: Pubkey,
        diff: Vec<FieldDiff>,
    },
    /// A pending change that no longer matches the file (proposed again after).
    CancelProposal {
        label: String,
        target: Pubkey,
        proposer: Pubkey,
    },
}

/// A change proposed and not yet applicable: nothing to send before `eta`.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingChange {
    pub label: String,
    pub target: Pubkey,
    pub eta: i64,
    pub due_in_secs: i64,
    pub diff: Vec<FieldDiff>,
}

impl DeployAction {
    pub fn instruction(&self, admin: Pubkey) -> anchor_lang::solana_program::instruction::Instruction {
        match self {
            DeployAction::InitConfig { treasury, param_delay_secs } => ix::initialize_config(admin, *treasury, *param_delay_secs),
            DeployAction::CreateMarket { keys, oracle_kind, params, trusted_freeze_authority, .. } => ix::create_market(admin, keys, *oracle_kind, *params, *trusted_freeze_authority),
            DeployAction::ProposeMarketParams { market, params, .. } => ix::propose_market_params(admin, *market, *params),
            DeployAction::ApplyMarketParams { market, proposer, .. } => ix::apply_market_params(*market, *proposer),
            DeployAction::CreateToken { keys, params, .. } => ix::create_leveraged_token(admin, keys, *params),
            DeployAction::ProposeTokenParams { token, params, .. } => ix::propose_token_params(admin, *token, *params),
            DeployAction::ApplyTokenParams { keys, proposer, .. } => ix::apply_token_params(keys, *proposer),
            DeployAction::CancelProposal { target, proposer, .. } => ix::cancel_param_proposal(admin, *target, *proposer),
        }
    }
}

impl fmt::Display for DeployAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeployAction::InitConfig { treasury, param_delay_secs } => {
                write!(f, "initialize config {} (admin = signer, treasury {treasury}, parameter delay {param_delay_secs} s)", pda::config().0)
            }
            DeployAction::CreateMarket { label, keys, oracle_kind, params, .. } => {
                write!(f, "create market {label} {}: {oracle_kind:?}, collateral {}, oracle account {}\n      params {params:?}", keys.market, keys.collateral_mint, keys.oracle)
            }
            DeployAction::ProposeMarketParams { label, market, diff, .. } => write_diff(f, &format!("propose market params {label} {market} (applicable after the delay)"), diff),
            DeployAction::ApplyMarketParams { label, market, diff, .. } => write_diff(f, &format!("apply market params {label} {market}"), diff),
            DeployAction::CreateToken { label, keys, params } => write!(f, "create token {label} {} (share mint {})\n      params {params:?}", keys.token, keys.share_mint),
            DeployAction::ProposeTokenParams { label, token, diff, .. } => write_diff(f, &format!("propose token params {label} {token} (applicable after the delay)"), diff),
            DeployAction::ApplyTokenParams { label, keys, diff, .. } => write_diff(f, &format!("apply token params {label} {}", keys.token), diff),
            DeployAction::CancelProposal { label, target, .. } => write!(f, "cancel the pending change of {label} {target} (it differs from the file)"),
        }
    }
}

fn write_diff(f: &mut fmt::Formatter<'_>, head: &str, diff: &[FieldDiff]) -> fmt::Result {
    write!(f, "{head}")?;
    for d in diff {
        write!(f, "\n      {d}")?;
    }
    Ok(())
}

/// What [`apply`] would send, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub endpoint: String,
    pub admin: Pubkey,
    pub actions: Vec<DeployAction>,
    /// Proposed changes still inside the delay (run again after their `eta`).
    pub pending: Vec<PendingChange>,
}

impl Plan {
    /// Nothing to send now (changes in `pending` may still wait out their delay).
    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.actions.is_empty() && self.pending.is_empty() {
            return writeln!(f, "plan for {} (admin {}): nothing to do, the chain matches the file", self.endpoint, self.admin);
        }
        if self.actions.is_empty() {
            writeln!(f, "plan for {} (admin {}): nothing to send now", self.endpoint, self.admin)?;
        } else {
            writeln!(f, "plan for {} (admin {}): {} action(s), one transaction each", self.endpoint, self.admin, self.actions.len())?;
        }
        for (i, a) in self.actions.iter().enumerate() {
            writeln!(f, "  {}. {a}", i + 1)?;
        }
        for p in &self.pending {
            write_diff(f, &format!("  pending: {} {} applicable at {} (in {} s); run again then", p.label, p.target, p.eta, p.due_in_secs), &p.diff)?;
            writeln!(f)?;
        }
        Ok(())
    }
}

/// Why a plan or an apply stopped.
#[derive(Debug, Clone, PartialEq)]
pub enum DeployError {
    /// The file: syntax, unknown field, placeholder, bad address, invalid parameters.
    Config(String),
    /// The chain disagrees in a way no action can fix (or the program would refuse an action).
    State(String),
    Chain(ChainError),
    /// An action's transaction failed; earlier actions landed, the next run plans the rest.
    Transaction {
        action: String,
        err: TransactionError,
        logs: Vec<String>,
    },
}

impl fmt::Display for DeployError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeployError::Config(m) => write!(f, "deploy config: {m}"),
            DeployError::State(m) => write!(f, "on-chain state: {m}"),
            DeployError::Chain(e) => write!(f, "{e}"),
            DeployError::Transaction { action, err, logs } => {
                write!(f, "transaction for `{action}` failed: {err:?} (actions before it landed; fix and re-run to do the rest)")?;
                for l in logs {
                    write!(f, "\n    {l}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for DeployError {}

impl From<ChainError> for DeployError {
    fn from(e: ChainError) -> Self {
        DeployError::Chain(e)
    }
}

fn decode<T: AccountDeserialize>(what: &str, key: &Pubkey, acc: &Account) -> Result<T, DeployError> {
    if acc.owner != PROGRAM_ID {
        return Err(DeployError::State(format!("{what} {key} is owned by {}, not the program {PROGRAM_ID}", acc.owner)));
    }
    T::try_deserialize(&mut acc.data.as_slice()).map_err(|e| DeployError::State(format!("{what} {key} does not decode as the program's account (layout changed?): {e}")))
}

/// The cluster clock (the SDK's one Clock decoder, through `Chain::clock`).
async fn clock<C: Chain>(chain: &mut C) -> Result<Clock, DeployError> {
    chain.clock().await.map_err(|e| DeployError::State(format!("the Clock sysvar: {e}")))
}

/// Would `create_market` accept this collateral mint with the file's
/// `trusted_freeze_authority`? The program's own rule
/// (`collateral::check_collateral`), with the fix named in the message.
fn check_collateral(m: &DesiredMarket, mint: &spl_token::state::Mint) -> Result<(), DeployError> {
    let issue = match collateral::check_collateral(mint.decimals, mint.freeze_authority.into(), m.trusted_freeze_authority) {
        Ok(_) => return Ok(()),
        Err(issue) => issue,
    };
    Err(match issue {
        CollateralIssue::TooFewDecimals { .. } => DeployError::State(format!("{}: collateral mint {} {issue}", m.at, m.keys.collateral_mint)),
        CollateralIssue::FreezeAuthorityNotAccepted { authority: f, .. } => DeployError::Config(format!(
            "{}.trusted_freeze_authority: collateral mint {} has freeze authority {f}, which could freeze the pool vault; the program refuses it unless you name it: trusted_freeze_authority = \"{f}\" (trust in the issuer)",
            m.at, m.keys.collateral_mint
        )),
    })
}

/// Would `create_market` accept this oracle account now? Runs the program's
/// own pure oracle check (`oracle::check_price`) with the spec the market
/// would be created with.
fn check_oracle(m: &DesiredMarket, decimals: u8, account: Option<Account>, clock: &Clock) -> Result<(), DeployError> {
    let k = &m.keys;
    let acc = account.ok_or_else(|| DeployError::State(format!("{}: oracle account {} does not exist on this cluster", m.at, k.oracle)))?;
    let spec = OracleSpec { last_used: i64::MIN, ..OracleSpec::new(m.kind, k.oracle_id, decimals, &m.params) };
    check_price(&spec, &k.oracle, &acc.owner, &acc.data, clock).map(|_| ()).map_err(|issue| {
        let code = issue.error_code();
        DeployError::State(format!(
            "{}: create_market would refuse oracle {} (owner {}) at slot {} / unix time {}: {code:?} ({}): {code} ({issue})",
            m.at,
            k.oracle,
            acc.owner,
            clock.slot,
            clock.unix_timestamp,
            u32::from(code)
        ))
    })
}

/// Compare the file with the chain and list the actions that make them equal.
/// `admin` signs and pays; it must be the config's admin unless the config is
/// created by this plan. Nothing is sent.
pub async fn plan<C: Chain>(chain: &mut C, config: &DeployConfig, admin: Pubkey) -> Result<Plan, DeployError> {
    let desired = config.resolve(admin)?;
    let endpoint = chain.endpoint();
    let config_key = pda::config().0;
    let mut actions = Vec::new();
    let mut pending = Vec::new();

    let [program, cfg] = <[Option<Account>; 2]>::try_from(chain.accounts(&[PROGRAM_ID, config_key]).await?).expect("two accounts");
    match program {
        Some(p) if p.executable => {}
        _ => return Err(DeployError::State(format!("program {PROGRAM_ID} is not deployed at {endpoint}: deploy it first (migrations/deploy.sh)"))),
    }
    let onchain_config = match cfg {
        None => {
            actions.push(DeployAction::InitConfig { treasury: desired.treasury, param_delay_secs: desired.param_delay_secs });
            None
        }
        Some(acc) => {
            let c: Config = decode("config", &config_key, &acc)?;
            if c.treasury != desired.treasury {
                return Err(DeployError::State(format!(
                    "config treasury is {} but the file says {}: the program has no instruction to change the treasury, so fix the file",
                    c.treasury, desired.treasury
                )));
            }
            Some(c)
        }
    };

    let clock = clock(chain).await?;
    for m in &desired.markets {
        let mint_and_market = chain.accounts(&[m.keys.collateral_mint, m.keys.market]).await?;
        let [mint_acc, market_acc] = <[Option<Account>; 2]>::try_from(mint_and_market).expect("two accounts");
        let mint_acc = mint_acc.ok_or_else(|| DeployError::State(format!("{}: collateral mint {} does not exist at {endpoint}", m.at, m.keys.collateral_mint)))?;
        if mint_acc.owner != spl_token::ID {
            return Err(DeployError::State(format!("{}: collateral mint {} is owned by {}, not SPL Token", m.at, m.keys.collateral_mint, mint_acc.owner)));
        }
        let mint = spl_token::state::Mint::unpack(&mint_acc.data).map_err(|e| DeployError::State(format!("{}: {} is not an SPL mint: {e}", m.at, m.keys.collateral_mint)))?;
        let one_unit = 10u64.checked_pow(u32::from(mint.decimals)).ok_or_else(|| DeployError::State(format!("{}: mint decimals {} too large", m.at, mint.decimals)))?;

        match market_acc {
            None => {
                if !m.has_update_account {
                    return Err(DeployError::Config(format!("{}.oracle: creating a pull market reads one fresh PriceUpdateV2 account of the feed: give its address", m.at)));
                }
                let oracle_acc = chain.accounts(&[m.keys.oracle]).await?.pop().flatten();
                check_oracle(m, mint.decimals, oracle_acc, &clock)?;
                check_collateral(m, &mint)?;
                actions.push(DeployAction::CreateMarket { label: m.label.clone(), keys: m.keys, oracle_kind: m.kind, params: m.params, trusted_freeze_authority: m.trusted_freeze_authority });
            }
            Some(acc) => {
                let onchain: Market = decode("market", &m.keys.market, &acc)?;
                if onchain.oracle_kind != m.kind || onchain.collateral_mint != m.keys.collateral_mint || onchain.oracle_id != m.keys.oracle_id {
                    return Err(DeployError::State(format!(
                        "{}: market {} exists with oracle {:?} / collateral {}, not what the file says",
                        m.at, m.keys.market, onchain.oracle_kind, onchain.collateral_mint
                    )));
                }
                let proposal = pending_proposal(chain, m.keys.market).await?;
                let wanted = ParamChange::Market(m.params);
                let diff = diff_market_params(&onchain.params, &m.params);
                let step = timelock_step(&m.label, m.keys.market, proposal, wanted, diff.is_empty(), &clock);
                match step {
                    TimelockStep::Propose => actions.push(DeployAction::ProposeMarketParams { label: m.label.clone(), market: m.keys.market, params: m.params, diff }),
                    TimelockStep::Apply { proposer } => actions.push(DeployAction::ApplyMarketParams { label: m.label.clone(), market: m.keys.market, proposer, diff }),
                    TimelockStep::Replace { proposer } => {
                        actions.push(DeployAction::CancelProposal { label: m.label.clone(), target: m.keys.market, proposer });
                        if !diff.is_empty() {
                            actions.push(DeployAction::ProposeMarketParams { label: m.label.clone(), market: m.keys.market, params: m.params, diff });
                        }
                    }
                    TimelockStep::Wait(p) => pending.push(PendingChange { diff, ..p }),
                    TimelockStep::Nothing => {}
                }
            }
        }

        let token_keys: Vec<Pubkey> = m.tokens.iter().map(|t| t.keys.token).collect();
        let token_accs = chain.accounts(&token_keys).await?;
        for (t, acc) in m.tokens.iter().zip(token_accs) {
            let target = t.keys.target_leverage_bps;
            let params = t.params.resolve(target, one_unit);
            if params.validate(target).is_err() {
                return Err(DeployError::Config(format!("{}.params: TokenParams::validate refuses target {target} with {params:?} (the line above says which bound)", t.at)));
            }
            match acc {
                None => actions.push(DeployAction::CreateToken { label: t.label.clone(), keys: t.keys, params }),
                Some(acc) => {
                    let onchain: LeveragedToken = decode("token", &t.keys.token, &acc)?;
                    let proposal = pending_proposal(chain, t.keys.token).await?;
                    let diff = diff_token_params(&onchain.params, &params);
                    match timelock_step(&t.label, t.keys.token, proposal, ParamChange::Token(params), diff.is_empty(), &clock) {
                        TimelockStep::Propose => actions.push(DeployAction::ProposeTokenParams { label: t.label.clone(), token: t.keys.token, params, diff }),
                        TimelockStep::Apply { proposer } => actions.push(DeployAction::ApplyTokenParams { label: t.label.clone(), keys: t.keys, proposer, diff }),
                        TimelockStep::Replace { proposer } => {
                            actions.push(DeployAction::CancelProposal { label: t.label.clone(), target: t.keys.token, proposer });
                            if !diff.is_empty() {
                                actions.push(DeployAction::ProposeTokenParams { label: t.label.clone(), token: t.keys.token, params, diff });
                            }
                        }
                        TimelockStep::Wait(p) => pending.push(PendingChange { diff, ..p }),
                        TimelockStep::Nothing => {}
                    }
                }
            }
        }
    }

    if let Some(c) = onchain_config {
        // The signer only matters when there is something to sign.
        if !actions.is_empty() && c.admin != admin {
            let hint = if c.pending_admin == admin { " (this key is the pending admin: accept_admin first)" } else { "" };
            return Err(DeployError::State(format!("config admin is {}, but the signer is {admin}: only the admin can create markets and tokens or change parameters{hint}", c.admin)));
        }
    }
    Ok(Plan { endpoint, admin, actions, pending })
}

/// What the timelock asks of a plan for one market or token.
enum TimelockStep {
    Nothing,
    Propose,
    Apply {
        proposer: Pubkey,
    },
    /// Cancel the pending change (then propose the file's, if it differs).
    Replace {
        proposer: Pubkey,
    },
    Wait(PendingChange),
}

/// The pending proposal of `target`, if any.
async fn pending_proposal<C: Chain>(chain: &mut C, target: Pubkey) -> Result<Option<ParamProposal>, DeployError> {
    let key = pda::param_proposal(&target).0;
    match chain.accounts(&[key]).await?.pop().flatten() {
        None => Ok(None),
        Some(acc) => Ok(Some(decode("parameter proposal", &key, &acc)?)),
    }
}

/// Compare the chain's parameters (`same` when equal to the file), its
/// pending proposal and the file's `wanted` change.
fn timelock_step(label: &str, target: Pubkey, proposal: Option<ParamProposal>, wanted: ParamChange, same: bool, clock: &Clock) -> TimelockStep {
    match proposal {
        None if same => TimelockStep::Nothing,
        None => TimelockStep::Propose,
        Some(p) if p.change != wanted => TimelockStep::Replace { proposer: p.proposer },
        Some(p) if p.is_due(clock.unix_timestamp) => TimelockStep::Apply { proposer: p.proposer },
        Some(p) => TimelockStep::Wait(PendingChange { label: label.to_string(), target, eta: p.eta, due_in_secs: p.due_in_secs(clock.unix_timestamp), diff: Vec::new() }),
    }
}

/// What [`apply`] sent: each action with its transaction signature.
#[derive(Debug, Clone, Default)]
pub struct ApplyReport {
    pub sent: Vec<(String, String)>,
}

/// Send `plan`'s actions in order, one transaction each, signed and paid by
/// `admin`. Stops at the first failure (the actions before it have landed).
pub async fn apply_plan<C: Chain>(chain: &mut C, plan: &Plan, admin: &Keypair) -> Result<ApplyReport, DeployError> {
    if plan.admin != admin.pubkey() {
        return Err(DeployError::Config(format!("the plan was made for admin {}, the signer is {}", plan.admin, admin.pubkey())));
    }
    let mut report = ApplyReport::default();
    for a in &plan.actions {
        let ix = a.instruction(admin.pubkey());
        let blockhash = chain.latest_blockhash().await?;
        let tx = Transaction::new_signed_with_payer(&[ix], Some(&admin.pubkey()), &[admin], blockhash);
        let r = chain.send(&tx).await?;
        let what = a.to_string().lines().next().unwrap_or_default().to_string();
        if let Some(err) = r.err {
            return Err(DeployError::Transaction { action: what, err, logs: r.logs });
        }
        report.sent.push((what, r.signature));
    }
    Ok(report)
}

/// [`plan`] then [`apply_plan`].
pub async fn apply<C: Chain>(chain: &mut C, config: &DeployConfig, admin: &Keypair) -> Result<(Plan, ApplyReport), DeployError> {
    let p = plan(chain, config, admin.pubkey()).await?;
    let r = apply_plan(chain, &p, admin).await?;
    Ok((p, r))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINT: &str = "4zMMC9srt5Ri5X14GAgXhaHii3GnPAEERYPJgZJDncDU";

    fn parse(extra: &str) -> Result<Desired, DeployError> {
        DeployConfig::from_toml_str(&format!("treasury = \"admin\"\n{extra}"))?.resolve(Pubkey::new_unique())
    }

    #[test]
    fn omitted_params_take_the_defaults_and_given_ones_override() {
        let spec = MarketParamsSpec { trade_fee_bps: Some(7), ..Default::default() };
        assert_eq!(spec.resolve(), MarketParams { trade_fee_bps: 7, ..defaults::market_params() });
        let spec = TokenParamsSpec { mint_fee_bps: Some(25), ..Default::default() };
        assert_eq!(spec.resolve(30_000, 1_000_000), TokenParams { mint_fee_bps: 25, ..defaults::token_params(30_000, 1_000_000) });
    }

    #[test]
    fn placeholders_typos_and_bad_values_are_refused_with_the_field_named() {
        let legacy = |oracle: &str| format!("[[markets]]\nname = \"BTC\"\ncollateral_mint = \"{MINT}\"\noracle_kind = \"legacy\"\noracle = \"{oracle}\"\n");
        let e = parse(&legacy("FILL_IN_PYTH_PRICE_ACCOUNT")).unwrap_err().to_string();
        assert!(e.contains("markets[0] (BTC).oracle is still the placeholder"), "{e}");
        let e = parse(&legacy("not-a-key")).unwrap_err().to_string();
        assert!(e.contains("not a base58 public key"), "{e}");
        let e = parse(&(legacy(MINT) + "[markets.params]\ntrade_fe_bps = 3\n")).unwrap_err().to_string();
        assert!(e.contains("unknown field `trade_fe_bps`"), "{e}");
        let e = parse(&(legacy(MINT) + "[markets.params]\ntrade_fee_bps = 101\n")).unwrap_err().to_string();
        assert!(e.contains("MarketParams::validate refuses"), "{e}");
        let e = parse(&format!("[[markets]]\ncollateral_mint = \"{MINT}\"\noracle_kind = \"pull\"\nfeed_id = \"abc\"\n")).unwrap_err().to_string();
        assert!(e.contains("expected 64 hex characters"), "{e}");
        let e = parse(&(legacy(MINT) + "[[markets.tokens]]\ntarget_leverage_bps = 30000\n[[markets.tokens]]\ntarget_leverage_bps = 30000\n")).unwrap_err().to_string();
        assert!(e.contains("appears twice"), "{e}");
    }

    #[test]
    fn a_real_address_that_happens_to_contain_a_placeholder_word_is_accepted() {
        // Random keys contain "xxx", "ToDo" or "FiLL" about once in a few hundred:
        // that must never read as a placeholder (it once made a deploy test flaky).
        for key in ["9xxxFiLLTodo1111111111111111111111111111111", "TodoxxxFiLL11111111111111111111111111111111"] {
            let cfg = format!("[[markets]]\nname = \"BTC\"\ncollateral_mint = \"{MINT}\"\noracle_kind = \"legacy\"\noracle = \"{key}\"\n");
            parse(&cfg).unwrap_or_else(|e| panic!("{key}: {e}"));
        }
    }

    #[test]
    fn leverage_labels() {
        assert_eq!(leverage_label(30_000), "3x long");
        assert_eq!(leverage_label(-10_000), "1x short");
        assert_eq!(leverage_label(25_000), "2.5x long");
        assert_eq!(leverage_label(-1_250), "0.125x short");
    }
}
