/**
 * Shell completion scripts, generated from the commander program itself so that a new command or option
 * completes without anyone editing a script by hand.
 */
import type { Command, Option } from 'commander';

export const COMPLETION_SHELLS = ['bash', 'zsh', 'fish'] as const;
export type CompletionShell = (typeof COMPLETION_SHELLS)[number];

/** One command of the tree: its words from the root (`['token', 'hash']`), subcommands and options. */
interface CommandNode {
  path: string[];
  description: string;
  subcommands: CommandNode[];
  /** Fixed values of its positional arguments (`completion <shell>`). */
  argumentChoices: string[];
  options: Array<{
    flags: string[];
    description: string;
    takesValue: boolean;
    /** The value is a file or directory (`<dir>`, `<file>`, `<path>`): complete paths. */
    takesPath?: boolean;
    choices?: readonly string[];
  }>;
}

function describe(command: Command, path: string[]): CommandNode {
  const options: readonly Option[] = command.options;
  return {
    path,
    description: command.description(),
    subcommands: command.commands.map((sub) => describe(sub, [...path, sub.name()])),
    argumentChoices: command.registeredArguments.flatMap((a) => a.argChoices ?? []),
    options: options
      .filter((o) => !o.hidden)
      .map((o) => ({
        flags: [o.long, o.short].filter((f): f is string => f !== undefined),
        description: o.description,
        takesValue: o.required || o.optional,
        takesPath: /<(dir|file|path)>/.test(o.flags),
        ...(o.argChoices ? { choices: o.argChoices } : {}),
      })),
  };
}

function walk(node: CommandNode): CommandNode[] {
  return [node, ...node.subcommands.flatMap(walk)];
}

/** The completion script for `shell`, for a program named `program.name()`. */
export function completionScript(program: Command, shell: CompletionShell): string {
  const root = describe(program, []);
  // Every command also takes --help; the root also --version.
  for (const node of walk(root)) {
    node.options.push({ flags: ['--help', '-h'], description: 'show help', takesValue: false });
  }
  root.options.push({ flags: ['--version', '-V'], description: 'print the version', takesValue: false });
  const name = program.name();
  if (shell === 'fish') return fishScript(name, root);
  const bash = bashScript(name, root);
  if (shell === 'bash') return bash;
  // zsh runs the bash function through its bash-compatible completion layer.
  return `#compdef ${name}\nautoload -U +X bashcompinit && bashcompinit\n${bash}`;
}

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
const fn = (name: string): string => `_${name.replace(/[^A-Za-z0-9_]/g, '_')}_completion`;

function bashScript(name: string, root: CommandNode): string {
  const nodes = walk(root);
  const key = (node: CommandNode): string => [name, ...node.path].join(' ');
  const commandCases = nodes
    .filter((n) => n.path.length > 0)
    .map((n) => `"${key(n)}"`)
    .join('|');
  const valueCases: string[] = [];
  for (const node of nodes) {
    for (const option of node.options.filter((o) => o.takesValue)) {
      const reply = option.choices
        ? `COMPREPLY=($(compgen -W ${quote(option.choices.join(' '))} -- "$cur"))`
        : option.takesPath
          ? 'COMPREPLY=($(compgen -f -- "$cur"))'
          : 'COMPREPLY=()';
      const pattern = option.flags.map((f) => `"${key(node)}|${f}"`).join('|');
      valueCases.push(`    ${pattern}) ${reply}; return ;;`);
    }
  }
  const wordCases = nodes.map((node) => {
    const words = [
      ...node.subcommands.map((s) => s.path.at(-1)!),
      ...node.argumentChoices,
      ...node.options.flatMap((o) => o.flags[0] ?? []),
    ];
    return `    "${key(node)}") words=${quote(words.join(' '))} ;;`;
  });
  return `# ${name} completion for bash. Load it with: source <(${name} completion bash)
${fn(name)}() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}" cmd=${quote(name)} words="" i
  for ((i = 1; i < COMP_CWORD; i++)); do
    case "$cmd \${COMP_WORDS[i]}" in
      ${commandCases}) cmd="$cmd \${COMP_WORDS[i]}" ;;
    esac
  done
  case "$cmd|$prev" in
${valueCases.join('\n')}
  esac
  case "$cmd" in
${wordCases.join('\n')}
  esac
  if [[ "$cur" == -* || -z "$cur" ]]; then
    COMPREPLY=($(compgen -W "$words" -- "$cur"))
  else
    COMPREPLY=($(compgen -W "$words" -- "$cur") $(compgen -f -- "$cur"))
  fi
}
complete -o default -F ${fn(name)} ${name}
`;
}

function fishScript(name: string, root: CommandNode): string {
  const lines = [`# ${name} completion for fish. Load it with: ${name} completion fish | source`];
  lines.push(`complete -c ${name} -f`);
  for (const node of walk(root)) {
    // fish sees the last subcommand typed; a root option or subcommand applies only before any subcommand.
    const condition =
      node.path.length === 0 ? '__fish_use_subcommand' : `__fish_seen_subcommand_from ${node.path.at(-1)}`;
    for (const choice of node.argumentChoices) {
      lines.push(`complete -c ${name} -n ${quote(condition)} -a ${quote(choice)}`);
    }
    for (const sub of node.subcommands) {
      lines.push(
        `complete -c ${name} -n ${quote(condition)} -a ${quote(sub.path.at(-1)!)} -d ${quote(sub.description)}`,
      );
    }
    for (const option of node.options) {
      const flags = option.flags
        .map((f) => (f.startsWith('--') ? `-l ${f.slice(2)}` : `-s ${f.slice(1)}`))
        .join(' ');
      const value = option.choices
        ? ` -x -a ${quote(option.choices.join(' '))}`
        : option.takesPath
          ? ' -r -F'
          : option.takesValue
            ? ' -x'
            : '';
      lines.push(
        `complete -c ${name} -n ${quote(condition)} ${flags}${value} -d ${quote(option.description)}`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}
