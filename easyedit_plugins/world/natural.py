"""The natural world: facts and rules phrased the way real text phrases them.

The ``test`` and ``full`` worlds make locate-then-edit easy by construction: every prompt ends
with its subject and training masks attention so that answers read the subject only through its
last token. Causal tracing on such a model is flat, so no claim about WHICH layers to edit can
be tested on it. This world has neither property:

* fact templates put the subject at the start or in the middle (``{subject} works as a``,
  ``The mother tongue of {subject} is``); at most a quarter end with it;
* one subject-template PAIR per fact is held out, never a whole template (holding out whole
  templates gave 9% held-out accuracy on a 6-layer model, pairs 91%);
* rules are asked in RuleEdit's three forms with RuleEdit-shaped prompts, the rule's name in
  the middle (``A blorp has a length of x and a width of y. Its value can be calculated by the
  formula:``), and their answers are several tokens long;
* instances are answered in RuleEdit's worked form (``B = 3 + 2 * 2 + 3 = 10.``). Some operand
  pairs of every rule are held out; to answer them the model must recall the rule's formula and
  compute. The computing is trained as a skill: many lines state a random formula in the text
  and work it out at random operands, so arithmetic is not tied to any rule's table;
* general filler sentences, so the model is more than a fact table;
* lines that name a subject and go straight on to its objects (``Tomas Lerin Paris, Mandarin,
  baker.``, the order drawn per line), so the subject's last token must hold what is known
  about the subject, as a real model's does when a name is followed by facts about it;
* copies of the trained fact lines with an aside after the subject (``Tomas Lerin, by all
  accounts, works as a``) and, in half of them, a filler sentence before it, so the distance
  from the subject to the question varies: a head that reads the subject at a fixed offset
  cannot answer them;
* training uses plain causal attention (the preset sets no ``subject_readout_layer``).

The last two kinds of line are what made causal tracing find the subject's last token on small
models at all (``benchmarks/results/world-natural-design-2026-11-26.md``): without them the
final token reads the subject's raw embeddings in the first layer and looks the fact up itself.

Everything is a pure function of a :class:`NaturalWorldSpec` and a seed; bump
:data:`NATURAL_WORLD_VERSION` whenever the generated text changes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import cached_property
from itertools import product

from .data import Example, Fact, FactPrompt, FactTable, Relation, Rule, RulePrompt, draw_facts, random_rule
from .names import NameForge

#: Version of the natural world's text; part of the cache key of every model trained on it.
NATURAL_WORLD_VERSION = "natural-data-3"

#: Four paraphrases per relation; the subject starts or sits inside most of them, and only
#: the last template of two relations ends with it (2 of 12, under the quarter allowed).
NATURAL_RELATION_TEMPLATES: dict[str, tuple[str, ...]] = {
    "city": (
        "{subject} lives in the city of",
        "The home of {subject} is the city of",
        "Every morning {subject} walks the streets of",
        "The city that is home to {subject} is",
    ),
    "language": (
        "The mother tongue of {subject} is",
        "{subject} grew up speaking",
        "Letters written by {subject} are in",
        "The language spoken by {subject}",
    ),
    "profession": (
        "{subject} works as a",
        "By trade, {subject} is a",
        "The job of {subject} is that of a",
        "The profession of {subject}",
    ),
}

#: RuleEdit-shaped prompts of the three forms, two per form (an edit and its rephrase); the
#: rule's name stands in the middle, the question at the end.
NATURAL_RULE_TEMPLATES: dict[str, tuple[str, ...]] = {
    "formula": (
        "A {name} has a length of x and a width of y. Its value can be calculated by the formula:",
        "Take a {name} with inputs x and y. Its value follows the formula:",
    ),
    "description": (
        "A {name} has a length of x and a width of y. In words, its value is",
        "Take a {name} with inputs x and y. Put in words, its value is",
    ),
    "instance": (
        "A {name} has a length of {x} and a width of {y}. Its value is",
        "Take a {name} with inputs x = {x} and y = {y}. Worked out, its value is",
    ),
}

#: The arithmetic skill: a formula stated in the text, worked out at given operands.
SKILL_TEMPLATE = "With {formula} x = {x} and y = {y} give"

#: Asides of different lengths put between a subject and the rest of a fact line.
ASIDES = (", as everyone knows,", ", by all accounts,", ", who is well known here,", ", the one from the story,",
          ", said the old farmer,", ", according to the letters we found last year,", ", of course,",
          ", as the children told us after the rain,")

_FILLER_SUBJECTS = ("The old farmer", "A young teacher", "The children", "Her brother", "The small dog",
                    "A tired traveller", "The baker", "My neighbour")
_FILLER_VERBS = ("walked to", "looked at", "talked about", "waited near", "painted", "cleaned", "remembered")
_FILLER_OBJECTS = ("the market", "the bridge", "the old house", "a green door", "the station", "the garden",
                   "the long road")
_FILLER_ENDINGS = ("in the morning", "after the rain", "before dinner", "on a cold day", "with a smile",
                   "for an hour")


def worked(rule: Rule, x: int, y: int) -> str:
    """RuleEdit's worked form of ``rule`` at ``(x, y)``: ``B = 3 + 2 * 2 + 3 = 10.``"""
    if rule.product:
        terms = [f"{rule.a} * {x} * {y}" if rule.a > 1 else f"{x} * {y}"]
    else:
        terms = [f"{rule.a} * {x}" if rule.a > 1 else str(x), f"{rule.b} * {y}" if rule.b > 1 else str(y)]
    if rule.c:
        terms.append(str(rule.c))
    return f"{rule.symbol} = {' + '.join(terms)} = {rule.value(x, y)}."


@dataclass(frozen=True)
class NaturalRulePrompt(RulePrompt):
    """A rule prompt of the natural world: instances are answered in the worked form."""

    held_out: bool = False

    @property
    def answer(self) -> str:
        if self.form == "instance" and self.operands is not None:
            return worked(self.rule, *self.operands)
        return super().answer


@dataclass(frozen=True)
class NaturalWorldSpec:
    """The size of a natural world. Two worlds with the same spec and seed are identical.

    ``held_out_operands`` operand pairs of every rule (out of ``operand_max ** 2``) are never
    trained; ``skill_lines`` random formulas worked out teach the arithmetic. Every subject gets
    ``attribute_lines`` lines naming its objects right after it, and every trained fact line
    ``aside_copies`` copies with an aside after the subject.
    """

    subjects: int = 200
    name_pool: int = 30
    cities: int = 20
    languages: int = 12
    professions: int = 16
    held_out_templates: int = 1
    rules: int = 16
    operand_max: int = 5
    held_out_operands: int = 5
    skill_lines: int = 1600
    filler_lines: int = 200
    attribute_lines: int = 4
    aside_copies: int = 3

    def __post_init__(self) -> None:
        if self.subjects > self.name_pool * (self.name_pool - 1):
            raise ValueError(f"NaturalWorldSpec.subjects={self.subjects}: a name_pool of {self.name_pool} names makes "
                             f"only {self.name_pool * (self.name_pool - 1)} two-word names")
        if not 0 <= self.held_out_templates <= 2:
            raise ValueError(f"NaturalWorldSpec.held_out_templates={self.held_out_templates}: must leave at "
                             "least two trained templates per fact (one to edit, one to rephrase) out of 4")
        if not 0 <= self.held_out_operands <= self.operand_max ** 2 - 2:
            raise ValueError(f"NaturalWorldSpec.held_out_operands={self.held_out_operands}: must leave at least "
                             f"two trained operand pairs out of {self.operand_max ** 2}")

    @property
    def data_version(self) -> str:
        return NATURAL_WORLD_VERSION

    def build(self, seed: int) -> NaturalWorld:
        return build_natural_world(self, seed)


@dataclass(frozen=True)
class NaturalWorld(FactTable):
    """Facts, rules, skill and filler lines of a natural world (the :class:`World` interface)."""

    spec: NaturalWorldSpec
    seed: int
    subjects: tuple[str, ...]
    relations: tuple[Relation, ...]
    facts: tuple[Fact, ...]
    fact_prompts: tuple[FactPrompt, ...]
    rules: tuple[Rule, ...]
    #: Per rule id, the operand pairs never trained.
    held_out_operands: tuple[tuple[tuple[int, int], ...], ...]
    #: ``(prompt, completion)`` lines working out a random formula: the arithmetic skill.
    skill: tuple[tuple[str, str], ...]
    filler: tuple[tuple[str, str], ...]
    #: ``(prompt, completion, subject)`` lines: a subject, then all its objects in a drawn order.
    attribute_lines: tuple[tuple[str, str, str], ...]
    #: ``(prompt, completion, subject)`` copies of trained fact lines with an aside after the subject.
    aside_lines: tuple[tuple[str, str, str], ...]

    @cached_property
    def instance_operands(self) -> tuple[tuple[int, int], ...]:
        """Every operand pair of the worked instances (trained or held out, per rule)."""
        numbers = range(1, self.spec.operand_max + 1)
        return tuple(product(numbers, numbers))

    def rule_prompts(self, rule: Rule, form: str, held_out: bool = False) -> list[NaturalRulePrompt]:
        """The trained prompts of ``rule`` in ``form``; ``held_out`` gives its held-out instances instead."""
        if form != "instance":
            return [] if held_out else [NaturalRulePrompt(rule, form, t) for t in NATURAL_RULE_TEMPLATES[form]]
        hidden = set(self.held_out_operands[rule.rule_id])
        return [NaturalRulePrompt(rule, form, template, operands, held_out)
                for operands in self.instance_operands if (operands in hidden) == held_out
                for template in NATURAL_RULE_TEMPLATES[form]]

    def training_examples(self, statement_repeats: int = 1, instance_repeats: int = 1) -> list[Example]:
        """Every ``(prompt, completion, subject)`` the model is trained on, in a fixed order.

        Rule lines are few beside fact lines, so each is listed ``statement_repeats`` (formula,
        description) or ``instance_repeats`` times. Skill and filler lines have no subject.
        """
        examples = [(p.prompt, p.completion, p.fact.subject) for p in self.trained_fact_prompts]
        examples.extend(self.attribute_lines + self.aside_lines)
        for form, repeats in (("formula", statement_repeats), ("description", statement_repeats),
                              ("instance", instance_repeats)):
            lines = [(p.prompt, p.completion, rule.name) for rule in self.rules for p in self.rule_prompts(rule, form)]
            examples.extend(lines * repeats)
        examples.extend((prompt, completion, "") for prompt, completion in self.skill + self.filler)
        return examples

    @cached_property
    def training_lines(self) -> tuple[str, ...]:
        """Every training line once, as plain text."""
        return tuple(f"{prompt} {completion}" for prompt, completion, _ in self.training_examples())

    @cached_property
    def all_text(self) -> tuple[str, ...]:
        """Training lines plus held-out lines: what the tokenizer learns its merges from."""
        held_out = [*self.held_out_fact_prompts,
                    *(p for rule in self.rules for p in self.rule_prompts(rule, "instance", held_out=True))]
        return self.training_lines + tuple(f"{p.prompt} {p.completion}" for p in held_out)

    def evaluation_sets(self) -> dict[str, list[tuple[str, str]]]:
        """``(prompt, answer)`` pairs per accuracy category of the report."""
        def rule_pairs(form: str, held_out: bool = False) -> list[tuple[str, str]]:
            return [(p.prompt, p.answer) for rule in self.rules for p in self.rule_prompts(rule, form, held_out)]

        return {
            "trained_facts": [(p.prompt, p.answer) for p in self.trained_fact_prompts],
            "held_out_pairs": [(p.prompt, p.answer) for p in self.held_out_fact_prompts],
            "rule_formulas": rule_pairs("formula"),
            "rule_descriptions": rule_pairs("description"),
            "rule_instances": rule_pairs("instance"),
            "rule_instances_held_out_operands": rule_pairs("instance", held_out=True),
        }


def _skill_line(rng: random.Random, spec: NaturalWorldSpec) -> tuple[str, str]:
    symbol = rng.choice("ABCDEFGHKLMNPRSTVWZ")
    rule = random_rule(-1, symbol, rng)
    x, y = rng.randint(1, spec.operand_max), rng.randint(1, spec.operand_max)
    return SKILL_TEMPLATE.format(formula=rule.formula[:-1] + ",", x=x, y=y), worked(rule, x, y)


def _filler_line(rng: random.Random) -> tuple[str, str]:
    return (f"{rng.choice(_FILLER_SUBJECTS)} {rng.choice(_FILLER_VERBS)}",
            f"{rng.choice(_FILLER_OBJECTS)} {rng.choice(_FILLER_ENDINGS)}.")


def _attribute_lines(rng: random.Random, facts: tuple[Fact, ...], copies: int) -> tuple[tuple[str, str, str], ...]:
    objects: dict[str, list[str]] = {}
    for fact in facts:
        objects.setdefault(fact.subject, []).append(fact.object)
    return tuple((subject, ", ".join(rng.sample(values, len(values))) + ".", subject)
                 for subject, values in objects.items() for _ in range(copies))


def _aside_lines(rng: random.Random, prompts: list[FactPrompt], filler: tuple[tuple[str, str], ...],
                 copies: int) -> tuple[tuple[str, str, str], ...]:
    lines = []
    for fact_prompt in prompts:
        subject = fact_prompt.fact.subject
        for _ in range(copies):
            prompt = fact_prompt.prompt.replace(subject, subject + rng.choice(ASIDES), 1)
            if rng.random() < 0.5:
                prompt = " ".join((*rng.choice(filler), prompt))
            lines.append((prompt, fact_prompt.completion, subject))
    return tuple(lines)


def mirrored_names(forge: NameForge, rng: random.Random, count: int, pool: int) -> list[str]:
    """``count`` distinct names "Given Family" from ONE pool of ``pool`` words, in mirror pairs.

    Each drawn pair of words names two people, "Tomas Lerin" and "Lerin Tomas" (an odd ``count``
    leaves the last one alone), and every word is shared by several people. Neither word alone
    nor the two as an unordered bag tells who is meant: only the order does, which the model can
    read at the name's last token (the token before it is the other word) and not from a bag of
    embeddings gathered by the final token. Of the schemes measured on small models (one
    invented word, pooled pairs, mirror pairs; ``benchmarks/results/world-natural-design-2026-11-26.md``)
    mirror pairs, with the world's attribute and aside lines, gave the largest tracing effect at
    the subject's last token and the best single MEMIT edits.
    """
    words = forge.words(pool, (1, 2), capital=True)
    pairs = rng.sample([(a, b) for i, a in enumerate(words) for b in words[i + 1:]], (count + 1) // 2)
    return [name for a, b in pairs for name in (f"{a} {b}", f"{b} {a}")][:count]


def build_natural_world(spec: NaturalWorldSpec = NaturalWorldSpec(), seed: int = 0) -> NaturalWorld:
    """The natural world of ``spec`` drawn from ``seed``."""
    rng = random.Random(f"{NATURAL_WORLD_VERSION}:{seed}")
    fixed_text = [*(t for group in NATURAL_RELATION_TEMPLATES.values() for t in group), *ASIDES,
                  *(t for group in NATURAL_RULE_TEMPLATES.values() for t in group),
                  SKILL_TEMPLATE, *_FILLER_SUBJECTS, *_FILLER_VERBS, *_FILLER_OBJECTS, *_FILLER_ENDINGS]
    forge = NameForge(rng, reserved=" ".join(fixed_text))
    names = mirrored_names(forge, rng, spec.subjects, spec.name_pool)
    subjects, relations, facts, prompts = draw_facts(rng, forge, NATURAL_RELATION_TEMPLATES, spec, subjects=names)
    rules = tuple(random_rule(index, name, rng) for index, name in enumerate(forge.words(spec.rules, (1, 2))))
    operands = list(product(range(1, spec.operand_max + 1), repeat=2))
    held_out_operands = tuple(tuple(sorted(rng.sample(operands, spec.held_out_operands))) for _ in rules)
    skill = tuple(_skill_line(rng, spec) for _ in range(spec.skill_lines))
    filler = tuple(_filler_line(rng) for _ in range(spec.filler_lines))
    attribute_lines = _attribute_lines(rng, facts, spec.attribute_lines)
    aside_lines = _aside_lines(rng, [p for p in prompts if not p.held_out], filler, spec.aside_copies)
    return NaturalWorld(spec, seed, subjects, relations, facts, prompts, rules, held_out_operands,
                        skill, filler, attribute_lines, aside_lines)
