// Small networking helpers.
import * as net from 'node:net';

/**
 * A TCP port that was free on `host` a moment ago (bind to 0, read, close), as torchrun picks
 * MASTER_PORT for a local run. Another process could take it before it is used; the store's bind
 * then fails with a clear error.
 */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, host, () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}
