// What every page shares: the deployment (config.json, written by scripts/serve-web.ts or by hand), a provider
// for reads, the contracts' errors for messages, and the account that signs (an injected EIP-1193 wallet, or an
// unlocked account of a local chain's RPC).
import type { Interface } from "ethers";
import {
  BrowserProvider,
  connectDeployment,
  contractErrors,
  getAddress,
  JsonRpcProvider,
  Network,
  type Deployment,
  type DeploymentAddresses,
  type Eip1193Provider,
  type Signer,
} from "../lib";
import { button, h, Outcome } from "./ui";

/** config.json: where the chain is and what is deployed on it. */
export interface AppConfig {
  chainId: number;
  rpcUrl: string;
  addresses: DeploymentAddresses;
  /** The network's name, for people (e.g. "localhost"). */
  network?: string;
}

export interface AppContext {
  config: AppConfig;
  provider: JsonRpcProvider;
  /** The contracts, read-only (connected to the provider). */
  contracts: Deployment;
  errors: Interface;
}

let context: AppContext | undefined;

/** The shared context; the pages run only after {@link loadContext}. */
export function app(): AppContext {
  if (!context) throw new Error("the app has not loaded its configuration yet");
  return context;
}

/** Raised when config.json is missing or not usable. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

/** Reads config.json beside the page and connects to its chain. */
export async function loadContext(): Promise<AppContext> {
  const answer = await fetch("config.json").catch(() => undefined);
  if (!answer?.ok) {
    throw new ConfigError("config.json is missing beside the page: serve the app with npm run web (docs/web.md)");
  }
  const config = (await answer.json()) as AppConfig;
  for (const field of ["token", "escrow", "nodeDirectory", "policyManager", "adjudicator"] as const) {
    if (!config.addresses?.[field]) throw new ConfigError(`config.json names no ${field} address`);
  }
  const provider = new JsonRpcProvider(config.rpcUrl, Network.from(config.chainId), {
    staticNetwork: true,
    pollingInterval: 500,
    // No 250 ms cache of identical requests: a page reads the chain right after its own transactions (a policy's
    // record just after revoking it) and must see them.
    cacheTimeout: -1,
  });
  context = {
    config,
    provider,
    contracts: connectDeployment(config.addresses, provider),
    errors: await contractErrors(),
  };
  return context;
}

declare global {
  interface Window {
    ethereum?: Eip1193Provider;
  }
}

/**
 * A picker of the account that signs: the injected wallet's when there is one (connected on request), else
 * one of the local chain's unlocked dev accounts (never on a public chain: its RPC unlocks none).
 */
export class AccountPicker {
  readonly el: HTMLElement;
  private readonly select = h("select", { class: "account" });
  private wallet: BrowserProvider | undefined;

  constructor(id: string) {
    this.select.id = id;
    // A failed connection (refused in the wallet, another chain) is said beside the button.
    const outcome = new Outcome(`${id}-wallet`);
    const connect = button("Connect wallet", `${id}-connect`, outcome, () => this.connectWallet(connect));
    this.el = h(
      "div",
      { class: "accounts" },
      this.select,
      window.ethereum ? connect : undefined,
      window.ethereum ? outcome.el : undefined,
    );
    void this.listDevAccounts();
  }

  private async listDevAccounts(): Promise<void> {
    if (window.ethereum) return;
    const listed = (await app()
      .provider.send("eth_accounts", [])
      .catch(() => [])) as string[];
    const accounts = (listed ?? []).map((a) => getAddress(a));
    if (accounts.length === 0) {
      this.select.replaceChildren(h("option", { value: "" }, "no wallet and no unlocked account on this chain"));
      return;
    }
    this.select.replaceChildren(
      ...accounts.map((a, i) =>
        h("option", { value: a }, `#${i} ${a} (${app().config.network ?? "local"} dev account)`),
      ),
    );
  }

  private async connectWallet(connect: HTMLButtonElement): Promise<void> {
    const wallet = new BrowserProvider(window.ethereum!);
    const accounts = ((await wallet.send("eth_requestAccounts", [])) as string[]).map((a) => getAddress(a));
    const { chainId } = await wallet.getNetwork();
    if (Number(chainId) !== app().config.chainId) {
      throw new ConfigError(`the wallet is on chain ${chainId}, the app's deployment on chain ${app().config.chainId}`);
    }
    if (accounts.length === 0) throw new ConfigError("the wallet shared no account");
    this.wallet = wallet;
    this.select.replaceChildren(...accounts.map((a) => h("option", { value: a }, `${a} (wallet)`)));
    connect.textContent = "Wallet connected";
  }

  /** Chooses the account at `index` of the list (tests and links). */
  choose(index: number): void {
    this.select.selectedIndex = index;
  }

  /** The chosen account's signer. */
  async signer(): Promise<Signer> {
    const address = this.select.value;
    if (!address) throw new ConfigError("choose an account first (connect a wallet, or use a local chain)");
    return (this.wallet ?? app().provider).getSigner(address);
  }
}
