"""Every option of the ``soundcloud`` command from the environment: ``--long-name`` is also
``$SOUNDCLOUD_LONG_NAME``.

One rule for every option of every subcommand, applied by walking the argparse tree rather
than option by option, so that an option added later is covered without more code:

- The variable is ``SOUNDCLOUD_`` and the long option name in capitals, ``-`` as ``_``
  (``--timeout``: ``SOUNDCLOUD_TIMEOUT``, ``--no-browser``: ``SOUNDCLOUD_NO_BROWSER``).
  Positional arguments, ``--help`` and ``--version`` have none, nor the options the parser
  names as not from the environment (a request's JSON body, like its parameters).
- The command line wins, then the variable, then the default; an empty variable counts as
  unset. A variable is read only when its command runs: ``$SOUNDCLOUD_WAIT`` is no concern
  of ``soundcloud get``.
- A value goes through the option's own ``type`` and ``choices``, so it is checked as on the
  command line; a switch takes 1/true/yes/on or 0/false/no/off. A bad value is a usage error
  that names the variable, and never shows the value of a secret.
- Of two options that exclude each other (``--client-secret``, ``--client-secret-file``),
  one given on the command line silences the other's variable.
- Each option's help ends with its variable.

How: :func:`read_environment` swaps each option's default for an :class:`_Unset` marker that
remembers its variable and the real default; once argparse has parsed the command line,
:func:`parse_with_environment` replaces every marker left in the namespace (an option not
given) by the variable's value, else the default, and records in ``args.from_environment``
which values came from the environment (``--client-secret`` warns only about a command line).
"""

from __future__ import annotations

import argparse
from typing import Any, Collection, Dict, Final, Iterator, Mapping, Optional, Sequence, Set, Tuple

from .exits import EXIT_USAGE, CLIError

__all__ = ["PREFIX", "environment_variable", "given_as", "parse_with_environment", "read_environment"]


PREFIX: Final = "SOUNDCLOUD_"
TRUE_WORDS: Final = ("1", "true", "yes", "on")
FALSE_WORDS: Final = ("0", "false", "no", "off")


def environment_variable(option: str) -> str:
    """The variable of a long option: ``--no-browser`` is ``SOUNDCLOUD_NO_BROWSER``."""
    return PREFIX + option.lstrip("-").upper().replace("-", "_")


class _Unset:
    """An option's default until the command line is parsed: its variable, else its real default."""

    def __init__(
        self, action: argparse.Action, variable: str, default: Any, secret: bool, excludes: Tuple[str, ...]
    ) -> None:
        self.action = action
        self.variable = variable
        self.default = default
        self.secret = secret
        self.excludes = excludes  # the dests of the options this one cannot be given with

    def __str__(self) -> str:  # what a help text's %(default)s shows
        return str(self.default)

    def value_of(self, text: str) -> Any:
        """The variable's text as the option's value, checked as argparse checks the command line."""
        action = self.action
        if isinstance(action, argparse._StoreConstAction):
            word = text.strip().lower()
            if word in TRUE_WORDS:
                return action.const  # as if the switch were given
            if word in FALSE_WORDS:
                return self.default
            raise self._bad(f"a switch is one of {', '.join(TRUE_WORDS + FALSE_WORDS)}, not {text!r}")
        value: Any = text
        convert = action.type
        if callable(convert):
            try:
                value = convert(text)
            except argparse.ArgumentTypeError as exc:
                raise self._bad(str(exc)) from None
            except (TypeError, ValueError):
                raise self._bad(f"invalid {getattr(convert, '__name__', 'value')} value: {text!r}") from None
        if action.choices is not None and value not in action.choices:
            choices = ", ".join(str(choice) for choice in action.choices)
            raise self._bad(f"invalid choice: {text!r} (choose from {choices})")
        return value

    def _bad(self, message: str) -> CLIError:
        if self.secret:
            message = "not a valid value (not shown: it is a secret)"
        return CLIError(f"${self.variable}: {message}", EXIT_USAGE)


def read_environment(
    parser: argparse.ArgumentParser,
    *,
    not_from_environment: Collection[argparse.Action] = (),
    exclusive: Sequence[Tuple[str, str]] = (),
    secrets: Collection[str] = (),
) -> None:
    """Let every option of ``parser`` and its subcommands come from its variable (call it once,
    when the parser is complete).

    ``exclusive`` pairs long options that cannot be given together, ``secrets`` names the
    options whose values are never shown. An option this cannot read from the environment
    (no long name, several values, a ``count``...) is a TypeError here, at build time.
    """
    partners: Dict[str, Tuple[str, ...]] = {}
    for first, second in exclusive:
        partners[first] = partners.get(first, ()) + (second,)
        partners[second] = partners.get(second, ()) + (first,)
    for each_parser, action in _options(parser):
        if action in not_from_environment:
            continue
        option = _long_option(action)
        variable = environment_variable(option)
        if action.help is not argparse.SUPPRESS:
            action.help = _with_variable(action.help, variable)
        if action.default is not argparse.SUPPRESS:
            excludes = tuple(each_parser._option_string_actions[other].dest for other in partners.get(option, ()))
            action.default = _Unset(action, variable, action.default, option in secrets, excludes)


def parse_with_environment(
    parser: argparse.ArgumentParser, argv: Optional[Sequence[str]], environ: Mapping[str, str]
) -> argparse.Namespace:
    """``parser.parse_args(argv)``, then each option not given from its variable, else its default.

    A bad variable raises :class:`CLIError` (a usage error). ``args.from_environment`` maps
    the dest of each value taken from the environment to its variable.
    """
    for _, action in _options(parser):
        unset = action.default
        if action.required and isinstance(unset, _Unset) and environ.get(unset.variable, ""):
            action.required = False  # `download URL` with $SOUNDCLOUD_OUTPUT needs no -o
    args = parser.parse_args(argv)
    values = vars(args)
    # Collected first: a value set from the environment must not look as if it were given.
    given = {dest for dest, value in values.items() if not isinstance(value, _Unset) and value not in (None, "")}
    from_environment: Dict[str, str] = {}
    for dest, unset in list(values.items()):
        if not isinstance(unset, _Unset):
            continue
        text = environ.get(unset.variable, "")
        if text and not given.intersection(unset.excludes):
            setattr(args, dest, unset.value_of(text))
            from_environment[dest] = unset.variable
        else:
            setattr(args, dest, unset.default)
    args.from_environment = from_environment
    return args


def given_as(args: argparse.Namespace, dest: str, option: str) -> str:
    """How the user gave an option's value, for a message: ``$SOUNDCLOUD_...`` or the option."""
    variable: Optional[str] = getattr(args, "from_environment", {}).get(dest)
    return f"${variable}" if variable else option


def _options(parser: argparse.ArgumentParser) -> Iterator[Tuple[argparse.ArgumentParser, argparse.Action]]:
    """Each option of the parser and its subcommands once, with the parser that has it.

    Subcommands share the actions of their parents (argparse adds the same objects), so an
    action is seen once.
    """
    seen: Set[int] = set()
    parsers = [parser]
    while parsers:
        current = parsers.pop(0)
        for action in current._actions:
            if isinstance(action, argparse._SubParsersAction):
                parsers.extend(sub for sub in action.choices.values() if id(sub) not in seen)
                seen.update(id(sub) for sub in action.choices.values())
            elif not action.option_strings or isinstance(action, (argparse._HelpAction, argparse._VersionAction)):
                continue
            elif id(action) not in seen:
                seen.add(id(action))
                yield current, action


def _long_option(action: argparse.Action) -> str:
    long = [option for option in action.option_strings if option.startswith("--")]
    single = isinstance(action, argparse._StoreAction) and action.nargs is None
    switch = isinstance(action, argparse._StoreConstAction)
    if not long or not (single or switch) or not (action.type is None or callable(action.type)):
        raise TypeError(
            f"{'/'.join(action.option_strings)}: an option read from the environment needs a --long name"
            " and takes one value (or is a switch); otherwise list it as not from the environment"
        )
    return long[0]


def _with_variable(help_text: Optional[str], variable: str) -> str:
    """The help with the variable last: inside a closing parenthesis, or in one of its own."""
    mention = f"${variable}"
    if not help_text:
        return f"({mention})"
    if help_text.endswith(")"):
        return f"{help_text[:-1]}; {mention})"
    return f"{help_text} ({mention})"
