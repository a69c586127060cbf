// Entry point of the bundled language server (dist/server.js): a connection over the transport the client
// chose (IPC or stdio), handed to the Pygration language server.
import { ProposedFeatures, createConnection } from 'vscode-languageserver/node';
import { PygrationLanguageServer } from './languageServer';

const connection = createConnection(ProposedFeatures.all);
new PygrationLanguageServer(connection).listen();
