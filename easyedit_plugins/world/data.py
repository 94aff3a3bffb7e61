"""The miniature world's knowledge base: invented people, their facts, and invented rules.

A model trained from scratch on this text knows exactly these facts and rules, so an edit's
efficacy (the edited fact), generalisation (the same fact asked another way) and locality
(other people's facts) can be measured without real checkpoints.

Facts are (subject, relation, object) triples asked through several paraphrase templates that
end right before the object. For every subject and relation some templates are HELD OUT of
training: the model must generalise to those subject-template pairs. Holding out pairs rather
than whole templates matters: a 6-layer model scored 9% on templates it never saw, but 91% on
subject-template pairs whose template it saw with other subjects and whose fact it saw through
other templates.

Rules are invented two-argument operations written in the three RuleEdit forms: a formula, a
sentence describing it, and worked numerical instances. Numbers stay small so a tiny model can
memorise every instance.

Everything is a pure function of a :class:`WorldSpec` and a seed; bump :data:`WORLD_VERSION`
whenever the generated text changes, because trained models are cached under it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Mapping, Protocol, Sequence
from functools import cached_property
from itertools import product

from .names import NameForge

#: Version of the generated text; part of every cache key of a trained world model.
WORLD_VERSION = "world-data-2"


@dataclass(frozen=True)
class Relation:
    """A kind of fact, its paraphrase templates (``{subject}`` placeholder) and its objects."""

    name: str
    templates: tuple[str, ...]
    objects: tuple[str, ...]


@dataclass(frozen=True)
class Fact:
    """``subject`` has ``object`` for ``relation``."""

    subject: str
    relation: str
    object: str


@dataclass(frozen=True)
class FactPrompt:
    """One fact asked through one template; ``held_out`` pairs never appear in training."""

    fact: Fact
    template: str
    held_out: bool

    @property
    def prompt(self) -> str:
        return self.template.format(subject=self.fact.subject)

    @property
    def answer(self) -> str:
        return self.fact.object

    @property
    def completion(self) -> str:
        """What follows the prompt in a training line: the answer and a full stop."""
        return f"{self.answer}."


_COEFFICIENT_WORDS = {1: "", 2: "twice ", 3: "three times "}


@dataclass(frozen=True)
class Rule:
    """An invented operation ``value(x, y) = a*x + b*y + c`` (``product``: ``a*x*y + c``)."""

    rule_id: int
    name: str
    product: bool
    a: int
    b: int
    c: int

    def value(self, x: int, y: int) -> int:
        if self.product:
            return self.a * x * y + self.c
        return self.a * x + self.b * y + self.c

    @property
    def symbol(self) -> str:
        return self.name[0].upper()

    @property
    def formula(self) -> str:
        """E.g. ``B = x + 2 * y + 3.``"""
        if self.product:
            terms = [f"{self.a} * x * y" if self.a > 1 else "x * y"]
        else:
            terms = [f"{self.a} * x" if self.a > 1 else "x", f"{self.b} * y" if self.b > 1 else "y"]
        if self.c:
            terms.append(str(self.c))
        return f"{self.symbol} = {' + '.join(terms)}."

    @property
    def description(self) -> str:
        """E.g. ``the first number plus twice the second plus 3.``"""
        if self.product:
            text = f"{_COEFFICIENT_WORDS[self.a]}the product of the two numbers"
        else:
            text = f"{_COEFFICIENT_WORDS[self.a]}the first number plus {_COEFFICIENT_WORDS[self.b]}the second"
        if self.c:
            text += f" plus {self.c}"
        return text + "."

    def altered(self, rng: random.Random) -> Rule:
        """The same operation name with another formula: the counterfactual an edit teaches."""
        while True:
            other = random_rule(self.rule_id, self.name, rng)
            if other.formula != self.formula:
                return other


def random_rule(rule_id: int, name: str, rng: random.Random) -> Rule:
    """A rule with random coefficients (30% of them of the product kind)."""
    product = rng.random() < 0.3
    return Rule(rule_id, name, product, rng.randint(1, 3), 0 if product else rng.randint(1, 3), rng.randint(0, 5))


#: Paraphrase templates per relation. Every one ENDS WITH THE SUBJECT and the object follows it
#: directly (see the module docstring for why).
RELATION_TEMPLATES: dict[str, tuple[str, ...]] = {
    "city": (
        "The city that is home to {subject}",
        "The home town of {subject}",
        "The streets walked every morning by {subject}",
        "The town with the house of {subject}",
    ),
    "language": (
        "The language spoken by {subject}",
        "The mother tongue of {subject}",
        "The language of the letters written by {subject}",
        "The first language of {subject}",
    ),
    "profession": (
        "The profession of {subject}",
        "The trade of {subject}",
        "The job done by {subject}",
        "The daily work of {subject}",
    ),
}

#: Templates of the three RuleEdit forms (``{name}`` the rule, ``{x}``/``{y}`` an instance's
#: operands). Like the fact templates, every one ends with the rule's name, the request's
#: subject, and the answer follows it directly.
RULE_TEMPLATES: dict[str, tuple[str, ...]] = {
    "formula": (
        "The formula of the {name}",
        "Written as a formula, the {name}",
    ),
    "description": (
        "In words, the {name}",
        "Described in words, the {name}",
    ),
    "instance": (
        "For x = {x} and y = {y}, the value of the {name}",
        "With x = {x} and y = {y}, the result of the {name}",
    ),
}

RULE_FORMS = tuple(RULE_TEMPLATES)

#: A training line: ``(prompt, completion, subject)``; the prompt ends with the subject.
Example = tuple[str, str, str]


@dataclass(frozen=True)
class RulePrompt:
    """One rule asked in one form through one template (``operands`` only for instances)."""

    rule: Rule
    form: str
    template: str
    operands: tuple[int, int] | None = None

    @property
    def prompt(self) -> str:
        x, y = self.operands or (0, 0)
        return self.template.format(name=self.rule.name, x=x, y=y)

    @property
    def answer(self) -> str:
        return answer_of(self.rule, self.form, self.operands)

    @property
    def completion(self) -> str:
        """What follows the prompt in a training line: the answer, ending in a full stop."""
        return self.answer if self.answer.endswith(".") else f"{self.answer}."


def answer_of(rule: Rule, form: str, operands: tuple[int, int] | None = None) -> str:
    """What ``rule`` answers in ``form`` (for an instance, at ``operands``)."""
    if form == "formula":
        return rule.formula
    if form == "description":
        return rule.description
    if form == "instance" and operands is not None:
        return str(rule.value(*operands))
    raise ValueError(f"unknown rule form {form!r} (operands {operands!r})")


@dataclass(frozen=True)
class WorldSpec:
    """The size of a world. Two worlds with the same spec and seed are identical."""

    subjects: int = 500
    cities: int = 24
    languages: int = 12
    professions: int = 16
    held_out_templates: int = 1
    rules: int = 16
    instance_max: int = 4

    def __post_init__(self) -> None:
        smallest = min(len(templates) for templates in RELATION_TEMPLATES.values())
        if not 0 <= self.held_out_templates <= smallest - 2:
            raise ValueError(
                f"WorldSpec.held_out_templates={self.held_out_templates}: must leave at least two "
                f"trained templates per fact (one to edit, one to rephrase) out of {smallest}"
            )

    @property
    def data_version(self) -> str:
        return WORLD_VERSION

    def build(self, seed: int) -> World:
        return build_world(self, seed)


class FactTable:
    """Fact lookups shared by every kind of world: a world that holds ``relations``, ``facts``
    and ``fact_prompts`` (dataclass fields of the subclass) answers them the same way."""

    relations: tuple[Relation, ...]
    facts: tuple[Fact, ...]
    fact_prompts: tuple[FactPrompt, ...]

    def relation(self, name: str) -> Relation:
        for relation in self.relations:
            if relation.name == name:
                return relation
        raise KeyError(f"no relation {name!r} in the world; it has {[r.name for r in self.relations]}")

    @cached_property
    def trained_fact_prompts(self) -> tuple[FactPrompt, ...]:
        return tuple(p for p in self.fact_prompts if not p.held_out)

    @cached_property
    def held_out_fact_prompts(self) -> tuple[FactPrompt, ...]:
        return tuple(p for p in self.fact_prompts if p.held_out)

    def prompts_of(self, fact: Fact, held_out: bool | None = None) -> list[FactPrompt]:
        """The prompts asking ``fact`` (only trained or only held-out ones if ``held_out`` says so)."""
        return [p for p in self._prompts_by_fact[fact] if held_out is None or p.held_out == held_out]

    @cached_property
    def _prompts_by_fact(self) -> dict[Fact, list[FactPrompt]]:
        table: dict[Fact, list[FactPrompt]] = {fact: [] for fact in self.facts}
        for prompt in self.fact_prompts:
            table[prompt.fact].append(prompt)
        return table


@dataclass(frozen=True)
class World(FactTable):
    """The knowledge base: relations, facts, their prompts (trained and held out) and rules."""

    spec: WorldSpec
    seed: int
    subjects: tuple[str, ...]
    relations: tuple[Relation, ...]
    facts: tuple[Fact, ...]
    fact_prompts: tuple[FactPrompt, ...]
    rules: tuple[Rule, ...]

    @cached_property
    def instance_operands(self) -> tuple[tuple[int, int], ...]:
        """Operand pairs of the worked instances (the same for every rule)."""
        numbers = range(1, self.spec.instance_max + 1)
        return tuple(product(numbers, numbers))

    def rule_prompts(self, rule: Rule, form: str) -> list[RulePrompt]:
        """Every trained prompt of ``rule`` in ``form`` (all templates, all instances)."""
        operand_pairs = self.instance_operands if form == "instance" else [None]
        return [RulePrompt(rule, form, template, operands)
                for operands in operand_pairs for template in RULE_TEMPLATES[form]]

    def training_examples(self, statement_repeats: int = 1, instance_repeats: int = 1) -> list[Example]:
        """Every ``(prompt, completion, subject)`` the model is trained on, in a fixed order.

        A rule has four statement lines (formula and description, two templates each) and a
        few dozen instance lines, beside thousands of fact lines; the repeats list each rule
        line that many times so that training sees them often enough to memorise them. The
        subject (a fact's subject, a rule's name) is always the prompt's last word.
        """
        examples = [(p.prompt, p.completion, p.fact.subject) for p in self.trained_fact_prompts]
        for form, repeats in (("formula", statement_repeats), ("description", statement_repeats),
                              ("instance", instance_repeats)):
            lines = [(p.prompt, p.completion, rule.name) for rule in self.rules for p in self.rule_prompts(rule, form)]
            examples.extend(lines * repeats)
        return examples

    @cached_property
    def training_lines(self) -> tuple[str, ...]:
        """Every training line once, as plain text."""
        return tuple(f"{prompt} {completion}" for prompt, completion, _ in self.training_examples())

    def evaluation_sets(self) -> dict[str, list[tuple[str, str]]]:
        """``(prompt, answer)`` pairs per accuracy category of the report."""
        sets = {
            "trained_facts": [(p.prompt, p.answer) for p in self.trained_fact_prompts],
            "held_out_pairs": [(p.prompt, p.answer) for p in self.held_out_fact_prompts],
        }
        for form in RULE_FORMS:
            sets[f"rule_{form}s"] = [(p.prompt, p.answer) for rule in self.rules for p in self.rule_prompts(rule, form)]
        return sets

    @cached_property
    def all_text(self) -> tuple[str, ...]:
        """Training lines plus held-out lines: what the tokenizer learns its merges from.

        The tokenizer may see held-out pairs: they only contain names and templates that the
        training lines contain too, and the model never trains on them.
        """
        return self.training_lines + tuple(f"{p.prompt} {p.completion}" for p in self.held_out_fact_prompts)


def build_world(spec: WorldSpec = WorldSpec(), seed: int = 0) -> World:
    """The world of ``spec`` drawn from ``seed``."""
    rng = random.Random(f"{WORLD_VERSION}:{seed}")
    template_text = " ".join(t for group in (*RELATION_TEMPLATES.values(), *RULE_TEMPLATES.values()) for t in group)
    forge = NameForge(rng, reserved=template_text)
    subjects, relations, facts, prompts = draw_facts(rng, forge, RELATION_TEMPLATES, spec)
    rule_names = forge.words(spec.rules, (1, 2))
    rules = tuple(random_rule(index, name, rng) for index, name in enumerate(rule_names))
    return World(spec, seed, subjects, relations, facts, prompts, rules)


class FactCounts(Protocol):
    """What :func:`draw_facts` reads of a world's spec."""

    subjects: int
    cities: int
    languages: int
    professions: int
    held_out_templates: int


def draw_facts(
    rng: random.Random, forge: NameForge, templates: Mapping[str, tuple[str, ...]], spec: FactCounts,
    subjects: Sequence[str] | None = None,
) -> tuple[tuple[str, ...], tuple[Relation, ...], tuple[Fact, ...], tuple[FactPrompt, ...]]:
    """Subjects, the three relations with ``templates``, every fact and its prompts (one
    subject-template pair per fact held out, ``spec.held_out_templates`` of them).

    ``subjects`` replaces the ``spec.subjects`` invented one-word names drawn here (the natural
    world's two-word names are drawn by its own builder).

    Every kind of world draws its facts here, in this fixed order of random draws: a world's
    content, and with it its cached model, depends on it.
    """
    subjects = tuple(forge.words(spec.subjects, (2, 2), capital=True) if subjects is None else subjects)
    relations = (
        Relation("city", templates["city"],
                 tuple(forge.words(spec.cities, (1, 2), ("dor", "heim", "vale", "mar", "grad", "ton"), capital=True))),
        Relation("language", templates["language"],
                 tuple(forge.words(spec.languages, (1, 2), ("ish", "ese", "ic", "ian"), capital=True))),
        Relation("profession", templates["profession"],
                 tuple(forge.words(spec.professions, (1, 2), ("smith", "wright", "monger", "ist", "keeper")))),
    )
    facts: list[Fact] = []
    prompts: list[FactPrompt] = []
    for subject in subjects:
        for relation in relations:
            fact = Fact(subject, relation.name, rng.choice(relation.objects))
            held_out = set(rng.sample(range(len(relation.templates)), spec.held_out_templates))
            facts.append(fact)
            prompts.extend(FactPrompt(fact, template, index in held_out)
                           for index, template in enumerate(relation.templates))
    return subjects, relations, tuple(facts), tuple(prompts)
