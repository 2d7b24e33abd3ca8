// Headless Chromium through playwright-core (which never downloads a browser): Debian's /usr/bin/chromium
// (scripts/setup-apt.sh installs it) or $STREETSEG_CHROMIUM. The tests and `streetseg bench app` launch
// it here, with flags that keep it offline and quiet (no background networking, updates, sync or QUIC).
import type { BrowserContext } from 'playwright-core';

export const chromiumPath = (): string => process.env.STREETSEG_CHROMIUM ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS: readonly string[] = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--no-first-run', '--disable-sync', '--disable-quic',
];

export interface ChromiumOptions {
  /** More command-line flags (e.g. a fake camera). */
  args?: readonly string[];
  viewport?: { width: number; height: number };
}

/** A persistent context in a fresh profile folder `profileDir` (the caller removes it after close()). */
export async function launchChromium(profileDir: string, o: ChromiumOptions = {}): Promise<BrowserContext> {
  const { chromium } = await import('playwright-core');
  try {
    return await chromium.launchPersistentContext(profileDir, {
      executablePath: chromiumPath(),
      headless: true,
      args: [...CHROMIUM_ARGS, ...(o.args ?? [])],
      ...(o.viewport ? { viewport: o.viewport } : {}),
    });
  } catch (e) {
    throw new Error(`cannot start Chromium (${chromiumPath()}; install Debian's chromium with scripts/setup-apt.sh, or set STREETSEG_CHROMIUM): ${(e as Error).message.split('\n')[0]}`);
  }
}
