import { Argument, type Command } from 'commander';
import type { CliIO } from '../io.js';

interface Node {
  /** Space-joined subcommand names from the root ('' for the root itself). */
  path: string;
  commands: { name: string; description: string }[];
  options: { flag: string; description: string }[];
}

/** Every command of the tree with what can follow it: subcommand names and aliases, then flags. */
export function completionTree(root: Command): Node[] {
  const out: Node[] = [];
  const walk = (cmd: Command, path: string) => {
    const commands = cmd.commands.flatMap((c) =>
      [c.name(), ...c.aliases()].map((name) => ({ name, description: c.description() })),
    );
    const options = cmd.options
      .filter((o) => !o.hidden)
      .flatMap((o) =>
        [o.long, o.short].filter((f): f is string => Boolean(f)).map((flag) => ({ flag, description: o.description })),
      );
    options.push(
      { flag: '--help', description: 'display help for command' },
      { flag: '-h', description: 'display help for command' },
    );
    out.push({ path, commands, options });
    for (const c of cmd.commands) {
      // Aliases lead to the same node, so `manifest get` completes as `manifest fetch`.
      for (const name of [c.name(), ...c.aliases()]) walk(c, path ? `${path} ${name}` : name);
    }
  };
  walk(root, '');
  return out;
}

function oneLine(text: string): string {
  return text.split('\n')[0] ?? '';
}

function shellWords(words: string[]): string {
  return words.join(' ');
}

/** The node path is found by walking the typed words and keeping those that name a subcommand. */
function bashScript(program: string, nodes: Node[]): string {
  const fn = `_${program.replace(/[^A-Za-z0-9_]/g, '_')}_complete`;
  const cases = nodes
    .map((n) => {
      const words = shellWords([...n.commands.map((c) => c.name), ...n.options.map((o) => o.flag)]);
      const subs = shellWords(n.commands.map((c) => c.name));
      return `    "${n.path}") subs="${subs}"; words="${words}" ;;`;
    })
    .join('\n');
  return `# bash completion for ${program}
# Load it with: source <(${program} completion bash)
${fn}() {
  local cur cmdpath word subs words i
  cur="\${COMP_WORDS[COMP_CWORD]}"
  cmdpath=""
  for ((i = 1; i < COMP_CWORD; i++)); do
    word="\${COMP_WORDS[i]}"
    case "$word" in -*) continue ;; esac
    ${fn}_node "$cmdpath"
    if [[ " $subs " == *" $word "* ]]; then
      cmdpath="\${cmdpath:+$cmdpath }$word"
    fi
  done
  ${fn}_node "$cmdpath"
  if [[ "$cur" == -* || -n "$subs" ]]; then
    COMPREPLY=($(compgen -W "$words" -- "$cur"))
  fi
}
${fn}_node() {
  subs=""
  words=""
  case "$1" in
${cases}
  esac
}
complete -o default -F ${fn} ${program}
`;
}

function zshQuote(text: string): string {
  return text
    .replace(/\\/g, '\\\\')
    .replace(/'/g, "'\\''")
    .replace(/:/g, '\\:')
    .replace(/\[/g, '\\[')
    .replace(/\]/g, '\\]');
}

function zshScript(program: string, nodes: Node[]): string {
  const fn = `_${program.replace(/[^A-Za-z0-9_]/g, '_')}`;
  const cases = nodes
    .map((n) => {
      const subs = n.commands.map((c) => `'${zshQuote(c.name)}:${zshQuote(oneLine(c.description))}'`).join(' ');
      const opts = n.options.map((o) => `'${zshQuote(o.flag)}:${zshQuote(oneLine(o.description))}'`).join(' ');
      return `    "${n.path}") subs=(${subs}); opts=(${opts}) ;;`;
    })
    .join('\n');
  return `#compdef ${program}
# zsh completion for ${program}
# Load it with: source <(${program} completion zsh)   (or save it as _${program} in your $fpath)
${fn}() {
  local -a subs opts names
  local cmdpath="" word i
  for ((i = 2; i < CURRENT; i++)); do
    word="\${words[i]}"
    [[ "$word" == -* ]] && continue
    ${fn}_node "$cmdpath"
    names=(\${subs%%:*})
    if (( \${names[(Ie)$word]} )); then
      cmdpath="\${cmdpath:+$cmdpath }$word"
    fi
  done
  ${fn}_node "$cmdpath"
  if [[ "\${words[CURRENT]}" == -* ]]; then
    _describe -t options 'option' opts
  elif (( \${#subs} )); then
    _describe -t commands 'command' subs
  else
    _files
  fi
}
${fn}_node() {
  subs=()
  opts=()
  case "$1" in
${cases}
  esac
}
if [[ "\${zsh_eval_context[-1]}" == loadautofunc ]]; then
  ${fn} "$@"
else
  compdef ${fn} ${program}
fi
`;
}

function fishQuote(text: string): string {
  return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** Fish's `test` needs a word on both sides, so every path starts with `root`. */
function fishPath(path: string): string {
  return path ? `root ${path}` : 'root';
}

function fishScript(program: string, nodes: Node[]): string {
  const fn = `__${program.replace(/[^A-Za-z0-9_]/g, '_')}_path`;
  const lines: string[] = [
    `# fish completion for ${program}`,
    `# Load it with: ${program} completion fish | source`,
    `function ${fn} --description 'the subcommands typed so far'`,
    '    set -l tokens (commandline -opc)',
    '    set -e tokens[1]',
    '    set -l path root',
    '    for token in $tokens',
    '        string match -q -- "-*" $token; and continue',
    `        if contains -- "$token" (${fn}_subs (string join ' ' $path))`,
    '            set -a path $token',
    '        end',
    '    end',
    "    string join ' ' $path",
    'end',
    `function ${fn}_subs`,
    '    switch "$argv[1]"',
  ];
  for (const n of nodes) {
    if (n.commands.length === 0) continue;
    lines.push(
      `        case ${fishQuote(fishPath(n.path))}`,
      `            printf '%s\\n' ${n.commands.map((c) => fishQuote(c.name)).join(' ')}`,
    );
  }
  lines.push('    end', 'end', `complete -c ${program} -e`);
  for (const n of nodes) {
    const when = `-n ${fishQuote(`test (${fn}) = ${fishQuote(fishPath(n.path))}`)}`;
    for (const c of n.commands) {
      lines.push(`complete -c ${program} -f ${when} -a ${fishQuote(c.name)} -d ${fishQuote(oneLine(c.description))}`);
    }
    for (const o of n.options) {
      const flag = o.flag.startsWith('--') ? `-l ${fishQuote(o.flag.slice(2))}` : `-s ${fishQuote(o.flag.slice(1))}`;
      lines.push(`complete -c ${program} ${when} ${flag} -d ${fishQuote(oneLine(o.description))}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

function psQuote(text: string): string {
  // Single-quoted PowerShell strings: a quote is doubled; typographic quotes count as quotes too.
  return `'${text.replace(/['\u2018\u2019\u201a\u201b]/g, (q) => q + q)}'`;
}

/**
 * PowerShell: a native argument completer. The typed words that name subcommands lead to a node;
 * its subcommands and flags that start with the word under the cursor are offered.
 */
function powershellScript(program: string, nodes: Node[]): string {
  const table = nodes
    .map((n) => {
      const subs = n.commands.map((c) => `@(${psQuote(c.name)}, ${psQuote(oneLine(c.description) || c.name)})`);
      const flags = n.options.map((o) => `@(${psQuote(o.flag)}, ${psQuote(oneLine(o.description) || o.flag)})`);
      // `@(@(a, b))` would flatten into one list of two: the unary comma keeps a single pair a pair.
      const list = (items: string[]) => (items.length === 1 ? `@(,${items[0]})` : `@(${items.join(', ')})`);
      return `  ${psQuote(n.path)} = @{ subs = ${list(subs)}; flags = ${list(flags)} }`;
    })
    .join('\n');
  return `# powershell completion for ${program}
# Load it with: ${program} completion powershell | Out-String | Invoke-Expression
$__${program.replace(/[^A-Za-z0-9_]/g, '_')}Tree = @{
${table}
}
Register-ArgumentCompleter -Native -CommandName ${psQuote(program)} -ScriptBlock {
  param($wordToComplete, $commandAst, $cursorPosition)
  $tree = $__${program.replace(/[^A-Za-z0-9_]/g, '_')}Tree
  $path = ''
  foreach ($element in $commandAst.CommandElements | Select-Object -Skip 1) {
    $word = $element.ToString()
    if ($element.Extent.StartOffset -ge $cursorPosition) { break }
    if ($word -eq $wordToComplete -and $element.Extent.EndOffset -ge $cursorPosition) { break }
    if ($word.StartsWith('-')) { continue }
    $node = $tree[$path]
    if ($node -and ($node.subs | Where-Object { $_[0] -ceq $word })) {
      $path = if ($path) { "$path $word" } else { $word }
    }
  }
  $node = $tree[$path]
  if (-not $node) { return }
  foreach ($entry in $node.subs) {
    if ($entry[0].StartsWith($wordToComplete)) {
      [System.Management.Automation.CompletionResult]::new($entry[0], $entry[0], 'ParameterValue', $entry[1])
    }
  }
  foreach ($entry in $node.flags) {
    if ($entry[0].StartsWith($wordToComplete)) {
      [System.Management.Automation.CompletionResult]::new($entry[0], $entry[0], 'ParameterName', $entry[1])
    }
  }
}
`;
}

export function completionScript(root: Command, shell: 'bash' | 'zsh' | 'fish' | 'powershell'): string {
  const nodes = completionTree(root);
  const name = root.name();
  switch (shell) {
    case 'bash':
      return bashScript(name, nodes);
    case 'zsh':
      return zshScript(name, nodes);
    case 'fish':
      return fishScript(name, nodes);
    case 'powershell':
      return powershellScript(name, nodes);
  }
}

/** `completion bash|zsh|fish|powershell`: a script generated from the command tree, so it never goes stale. */
export function registerCompletion(program: Command, io: CliIO): void {
  program
    .command('completion')
    .description('print a shell completion script (bash, zsh, fish or powershell)')
    .addArgument(new Argument('<shell>', 'the shell').choices(['bash', 'zsh', 'fish', 'powershell']))
    .addHelpText(
      'after',
      `
Examples:
  source <(lading completion bash)
  lading completion zsh > "\${fpath[1]}/_lading"
  lading completion fish | source
  lading completion powershell | Out-String | Invoke-Expression`,
    )
    .action((shell: 'bash' | 'zsh' | 'fish' | 'powershell', _opts, cmd: Command) => {
      let root = cmd;
      while (root.parent) root = root.parent;
      io.stdout.write(completionScript(root, shell));
    });
}
