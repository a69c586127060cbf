// The bundled language server (dist/serverMain.js, which dist/server.js runs through the code cache, codeCache.ts):
// a connection over the transport the client chose (IPC or stdio), handed to the Pygration language server. This file
// is the whole engine once bundled: its hash names the server's disk cache of function summaries.
import './jitFlags';
import { ProposedFeatures, createConnection } from 'vscode-languageserver/node';
import { guardFraming } from './framing';
import { PygrationLanguageServer } from './languageServer';

const connection = createConnection(ProposedFeatures.all);
// The server never dies of one failed promise: it is logged, and the other requests go on.
process.on('unhandledRejection', (reason) => {
  connection.console.error(`Unhandled failure in the Pygration server: ${reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)}`);
});
new PygrationLanguageServer(connection, { engineFile: __filename }).listen();
// Over stdio a framing error (a bad Content-Length) loses the message boundaries for good: the server exits,
// and the client restarts it, instead of staying alive and mute.
if (process.argv.includes('--stdio')) guardFraming(process.stdin);
