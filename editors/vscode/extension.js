// Starts `gvtsim lsp` (the language server in the gvtsim repository) for .gvt files.
const { workspace } = require("vscode");
const { LanguageClient } = require("vscode-languageclient/node");

let client;

exports.activate = function (context) {
  const [command, ...args] = workspace.getConfiguration("gvtsim").get("command");
  client = new LanguageClient(
    "gvtsim",
    "gvtsim",
    { command, args },
    { documentSelector: [{ language: "gvt" }] },
  );
  context.subscriptions.push(client);
  return client.start();
};

exports.deactivate = function () {
  return client ? client.stop() : undefined;
};
