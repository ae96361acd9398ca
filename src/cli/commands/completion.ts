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

export function completionScript(root: Command, shell: 'bash' | 'zsh' | 'fish'): string {
  const nodes = completionTree(root);
  const name = root.name();
  switch (shell) {
    case 'bash':
      return bashScript(name, nodes);
    case 'zsh':
      return zshScript(name, nodes);
    case 'fish':
      return fishScript(name, nodes);
  }
}

/** `completion bash|zsh|fish`: a script generated from the command tree, so it never goes stale. */
export function registerCompletion(program: Command, io: CliIO): void {
  program
    .command('completion')
    .description('print a shell completion script (bash, zsh or fish)')
    .addArgument(new Argument('<shell>', 'the shell').choices(['bash', 'zsh', 'fish']))
    .addHelpText(
      'after',
      `
Examples:
  source <(lading completion bash)
  lading completion zsh > "\${fpath[1]}/_lading"
  lading completion fish | source`,
    )
    .action((shell: 'bash' | 'zsh' | 'fish', _opts, cmd: Command) => {
      let root = cmd;
      while (root.parent) root = root.parent;
      io.stdout.write(completionScript(root, shell));
    });
}
