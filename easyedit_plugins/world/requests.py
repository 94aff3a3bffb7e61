"""EasyEdit edit requests made from the miniature world's facts and rules.

An edit can only be judged on what the model knew before it: efficacy needs a prompt whose
answer the edit must overturn, generalisation a paraphrase the model answers the same way, and
locality neighbours the model answers correctly. Given a ``knows`` predicate (greedy accuracy of
the trained model, see :meth:`WorldModel.knows`), the builders below use only prompts the model
answers correctly; without one they trust the training data.

Requests are plain dicts in EasyEdit's format (``prompt``, ``subject``, ``target_new``,
``ground_truth``, ``rephrase_prompt``, ``locality`` and ``portability`` as
``{key: {'prompt': [...], 'ground_truth': [...]}}``), deterministic for a seed.
"""

from __future__ import annotations

import random
from typing import Any, Callable, Collection, Sequence

from .data import RULE_FORMS, RULE_TEMPLATES, Fact, FactPrompt, Rule, RulePrompt, World, answer_of
from .natural import NATURAL_RULE_TEMPLATES, NaturalRulePrompt, NaturalWorld, worked

#: Greedy-accuracy predicate: for each ``(prompt, answer)``, does the model answer it?
Knows = Callable[[Sequence[tuple[str, str]]], list[bool]]

Request = dict[str, Any]


def _known_prompts(prompts: Sequence[FactPrompt | RulePrompt], knows: Knows | None) -> set[str]:
    if knows is None:
        return {p.prompt for p in prompts}
    verdicts = knows([(p.prompt, p.answer) for p in prompts])
    return {p.prompt for p, known in zip(prompts, verdicts) if known}


def _neighbourhood(prompts: Sequence[FactPrompt | RulePrompt]) -> dict[str, dict[str, list[str]]]:
    return {"neighborhood": {"prompt": [p.prompt for p in prompts], "ground_truth": [p.answer for p in prompts]}}


def _usable_prompts(world: World, knows: Knows | None) -> dict[Fact, list[FactPrompt]]:
    """Each fact's trained prompts that the model answers (an edit needs two: prompt and rephrase)."""
    known = _known_prompts(world.trained_fact_prompts, knows)
    return {fact: [p for p in world.prompts_of(fact, held_out=False) if p.prompt in known] for fact in world.facts}


def editable_fact_count(world: World, knows: Knows | None = None, relations: Collection[str] | None = None) -> int:
    """How many facts :func:`fact_requests` can edit (with ``distinct_within``): a long stream's cap."""
    return sum(len(prompts) >= 2 and (relations is None or fact.relation in relations)
               for fact, prompts in _usable_prompts(world, knows).items())


def fact_requests(world: World, count: int, seed: int = 0, knows: Knows | None = None,
                  neighbours: int = 2, distinct_within: int | None = None,
                  relations: Collection[str] | None = None) -> list[Request]:
    """``count`` counterfactual edits of facts of ``count`` different subjects.

    Each request's prompt and rephrase are two different TRAINED templates of the fact (never a
    held-out pair); ``target_new`` is another object of the same relation (given ``knows``, the
    model answers the ground truth at both prompts, so it does not predict ``target_new``
    there). Locality prompts are
    facts of the same relation about subjects outside the batch, preferring subjects that share
    the edited fact's object: the facts an over-broad edit is most likely to drag along.

    ``distinct_within=n`` lifts the one-fact-per-subject limit for long edit sequences (the
    ``full`` world has 500 subjects but 1500 facts): a subject may then be edited on several
    relations, but every consecutive chunk of ``n`` requests (``requests[i*n:(i+1)*n]``, one
    batch edit of a sequence) still has ``n`` different subjects, and locality prompts are
    facts of the same relation that no request edits.

    ``relations`` keeps only facts of those relations (a stream of some relations, whose
    locality can be split into facts of the edited relations and of the others); the candidates are
    shuffled before the filter, so ``None`` gives exactly the requests of before the option.
    """
    rng = random.Random(f"fact-requests:{seed}")
    usable = _usable_prompts(world, knows)
    candidates = [fact for fact, prompts in usable.items() if len(prompts) >= 2]
    rng.shuffle(candidates)
    if relations is not None:
        unknown = set(relations) - {relation.name for relation in world.relations}
        if unknown:
            raise ValueError(f"no relation {sorted(unknown)} in the world; it has {[r.name for r in world.relations]}")
        candidates = [fact for fact in candidates if fact.relation in relations]
    excluded: Callable[[Fact], bool]
    if distinct_within is not None:
        if distinct_within < 1:
            raise ValueError(f"distinct_within must be a positive chunk size, got {distinct_within}")
        # A subject can be edited at most once per chunk, so at most once per chunk in all: take
        # the first facts that respect that (the first ``count`` whenever they already do).
        per_subject = -(-count // distinct_within)
        picked: list[Fact] = []
        taken: dict[str, int] = {}
        for fact in candidates:
            if len(picked) == count:
                break
            if taken.get(fact.subject, 0) < per_subject:
                picked.append(fact)
                taken[fact.subject] = taken.get(fact.subject, 0) + 1
        if len(picked) < count:
            raise ValueError(f"the world has only {len(picked)} usable facts that fit chunks of {distinct_within} "
                             f"with distinct subjects; asked for {count}")
        chosen = _in_chunks_of_distinct_subjects(picked, distinct_within, rng)
        edited_facts = set(chosen)
        excluded = edited_facts.__contains__
    else:
        chosen = []
        for fact in candidates:
            if len(chosen) == count:
                break
            if all(fact.subject != other.subject for other in chosen):
                chosen.append(fact)
        if len(chosen) < count:
            raise ValueError(f"the world has only {len(chosen)} usable facts of distinct subjects; asked for {count}")
        edited_subjects = {fact.subject for fact in chosen}

        def excluded(fact: Fact) -> bool:
            return fact.subject in edited_subjects
    requests = []
    for case_id, fact in enumerate(chosen):
        prompt, rephrase = rng.sample(usable[fact], 2)
        others = [o for o in world.relation(fact.relation).objects if o != fact.object]
        requests.append({
            "case_id": case_id,
            "prompt": prompt.prompt,
            "subject": fact.subject,
            "target_new": rng.choice(others),
            "ground_truth": fact.object,
            "rephrase_prompt": rephrase.prompt,
            "locality": _neighbourhood(_fact_neighbours(world, fact, usable, excluded, neighbours, rng)),
            "portability": {},
        })
    return requests


def _in_chunks_of_distinct_subjects(facts: list[Fact], size: int, rng: random.Random,
                                    attempts: int = 20) -> list[Fact]:
    """``facts`` reordered so that every consecutive chunk of ``size`` has distinct subjects.

    Chunk by chunk, in the given order, except that a subject with as many facts left as
    chunks left goes first (later it could no longer be spread over distinct chunks). If the
    tail still cannot be filled, the facts are shuffled and arranged again.
    """
    facts = list(facts)
    for _ in range(attempts):
        pending = list(facts)
        ordered: list[Fact] = []
        while pending:
            chunks_left = -(-len(pending) // size)
            left: dict[str, int] = {}
            for fact in pending:
                left[fact.subject] = left.get(fact.subject, 0) + 1
            forced = [fact for fact in pending if left[fact.subject] >= chunks_left]
            chunk: list[Fact] = []
            subjects: set[str] = set()
            for fact in forced + pending:
                if len(chunk) == size:
                    break
                if fact.subject not in subjects:
                    chunk.append(fact)
                    subjects.add(fact.subject)
            if len(chunk) < min(size, len(pending)):
                break
            ordered.extend(chunk)
            taken = set(chunk)
            pending = [fact for fact in pending if fact not in taken]
        else:
            return ordered
        rng.shuffle(facts)
    raise ValueError(f"cannot arrange {len(facts)} facts in chunks of {size} with distinct subjects "
                     "(too many facts of too few subjects)")


def _fact_neighbours(world: World, fact: Fact, usable: dict[Fact, list[FactPrompt]], excluded: Callable[[Fact], bool],
                     count: int, rng: random.Random) -> list[FactPrompt]:
    pool = [f for f in world.facts if f.relation == fact.relation and not excluded(f) and usable[f]]
    rng.shuffle(pool)
    pool.sort(key=lambda f: f.object != fact.object)  # stable: same object first, shuffled within
    return [rng.choice(usable[f]) for f in pool[:count]]


def rule_requests(world: World | NaturalWorld, seed: int = 0, knows: Knows | None = None,
                  rules: Sequence[int] | None = None, instances: int = 4, neighbours: int = 2) -> list[Request]:
    """Three requests per rule, one per RuleEdit form, all teaching the same counterfactual rule.

    Every request carries ``form`` ('formula', 'description' or 'instance') and ``rule_id``;
    ``portability['Instance']`` asks up to ``instances`` other worked instances, graded against
    the NEW rule's results, and ``portability['Rule_Understanding']`` asks the rule's other
    statement forms, graded against the new rule, as RuleEdit does: through the other cases'
    edit prompts, so ``rule_prompt_repeats_edit_prompt`` (one flag per Rule Understanding
    prompt) is True for every one of them here; RU without those prompts is empty on this
    world. Instances are drawn from those the model knows (under both templates) and whose
    result the new rule changes. A rule is used when the model knows its formula and
    description and at least two such instances; ``rules`` (ids) restricts the choice, and
    naming a rule that is not usable is an error.

    On the natural world (:class:`NaturalWorld`) the requests have the same shape with its own
    prompts and worked answers; see :func:`natural_rule_requests`.
    """
    if isinstance(world, NaturalWorld):
        return natural_rule_requests(world, seed, knows, rules, instances, neighbours)
    rng = random.Random(f"rule-requests:{seed}")
    all_prompts = [p for rule in world.rules for form in RULE_FORMS for p in world.rule_prompts(rule, form)]
    known = _known_prompts(all_prompts, knows)
    requests: list[Request] = []
    for rule in world.rules if rules is None else [world.rules[rule_id] for rule_id in rules]:
        altered = rule.altered(rng)
        statements_known = all(p.prompt in known for form in ("formula", "description")
                                for p in world.rule_prompts(rule, form))
        differing = [ops for ops in world.instance_operands if rule.value(*ops) != altered.value(*ops)
                     and all(RulePrompt(rule, "instance", t, ops).prompt in known for t in RULE_TEMPLATES["instance"])]
        if not statements_known or len(differing) < 2:
            if rules is not None:
                raise ValueError(f"rule {rule.rule_id} ({rule.name!r}) is not usable: the model does not know "
                                 f"its formula and description, or fewer than two instances the edit changes")
            continue
        edited_instance, *other_instances = rng.sample(differing, min(len(differing), instances + 1))
        neighbours_by_form = {form: _rule_neighbours(world, rule, form, known, neighbours, rng) for form in RULE_FORMS}
        for form in RULE_FORMS:
            operands = edited_instance if form == "instance" else None
            prompt, rephrase = (RulePrompt(rule, form, template, operands) for template in RULE_TEMPLATES[form])
            understanding = [f for f in RULE_FORMS if f not in (form, "instance")]
            requests.append(_rule_request(
                len(requests), rule, form, prompt, rephrase, answer_of(altered, form, operands),
                _neighbourhood(neighbours_by_form[form]),
                instances=[(RulePrompt(rule, "instance", RULE_TEMPLATES["instance"][0], ops).prompt,
                            answer_of(altered, "instance", ops)) for ops in other_instances],
                understanding=[(RulePrompt(rule, f, RULE_TEMPLATES[f][0]).prompt, answer_of(altered, f), True)
                               for f in understanding],
            ))
    return requests


def natural_rule_requests(world: NaturalWorld, seed: int = 0, knows: Knows | None = None,
                          rules: Sequence[int] | None = None, instances: int = 4,
                          neighbours: int = 2) -> list[Request]:
    """RuleEdit-shaped requests on the natural world: three per rule, one per form.

    The prompts are the world's RuleEdit-shaped ones (the rule's name in the middle) and an
    instance is answered in the worked form (``L = 3 * 2 + 3 * 3 = 15.``), so ``target_new`` of
    the instance case and every Instance portability answer are the NEW rule worked out.

    * The edited instance is a trained operand pair the model answers under both templates.
    * ``portability['Instance']``: up to ``instances`` other operand pairs, HELD-OUT ones first
      (the model never saw them and answers them by recalling the formula and computing, so an
      edited formula can carry over to them), then trained ones; each one the unedited model
      answers (under the first template) and whose value the new rule changes.
      ``instance_held_out`` flags which are held out.
    * ``portability['Rule_Understanding']``: the rule's other statement forms (for the
      instance case both), graded against the new rule, as RuleEdit asks them: through the
      other case's edit prompt (flagged in ``rule_prompt_repeats_edit_prompt``: such a prompt
      measures that case's edit again) and through the other wording (its rephrase template,
      not flagged), so that RU without the repeated prompts can be computed.
    * ``locality['neighborhood']``: prompts of the same form about other rules, known to the
      model (for instances, at operand pairs the model answers).

    A rule is used when the model knows its formula and description under both templates, at
    least one trained instance the edit changes and one more instance for portability.
    """
    rng = random.Random(f"natural-rule-requests:{seed}")
    all_prompts = [p for rule in world.rules for form in RULE_FORMS for held_out in (False, True)
                   for p in world.rule_prompts(rule, form, held_out)]
    known = _known_prompts(all_prompts, knows)
    requests: list[Request] = []
    first_template = {form: NATURAL_RULE_TEMPLATES[form][0] for form in RULE_FORMS}
    for rule in world.rules if rules is None else [world.rules[rule_id] for rule_id in rules]:
        altered = rule.altered(rng)
        statements_known = all(p.prompt in known for form in ("formula", "description")
                               for p in world.rule_prompts(rule, form))
        hidden = set(world.held_out_operands[rule.rule_id])

        def known_at(operands: tuple[int, int], templates: Sequence[str]) -> bool:
            return all(NaturalRulePrompt(rule, "instance", t, operands).prompt in known for t in templates)

        changed = [ops for ops in world.instance_operands if rule.value(*ops) != altered.value(*ops)]
        editable = [ops for ops in changed if ops not in hidden and known_at(ops, NATURAL_RULE_TEMPLATES["instance"])]
        if not statements_known or not editable:
            if rules is not None:
                raise ValueError(f"rule {rule.rule_id} ({rule.name!r}) is not usable: the model does not know its "
                                 "formula and description, or no trained instance the edit changes")
            continue
        edited_instance = rng.choice(editable)
        portable = [ops for ops in changed if ops != edited_instance and known_at(ops, [first_template["instance"]])]
        held_out = [ops for ops in portable if ops in hidden]
        trained = [ops for ops in portable if ops not in hidden]
        rng.shuffle(held_out)
        rng.shuffle(trained)
        other_instances = (held_out + trained)[:instances]
        if not other_instances:
            if rules is not None:
                raise ValueError(f"rule {rule.rule_id} ({rule.name!r}) is not usable: no other instance for portability")
            continue
        neighbours_by_form = {form: _rule_neighbours(world, rule, form, known, neighbours, rng) for form in RULE_FORMS}
        for form in RULE_FORMS:
            operands = edited_instance if form == "instance" else None
            prompt, rephrase = (NaturalRulePrompt(rule, form, template, operands)
                                for template in NATURAL_RULE_TEMPLATES[form])
            others = [f for f in ("formula", "description") if f != form]
            understanding = [(NaturalRulePrompt(rule, f, template), repeated) for f in others
                             for template, repeated in zip(NATURAL_RULE_TEMPLATES[f], (True, False))]
            requests.append(_rule_request(
                len(requests), rule, form, prompt, rephrase,
                worked(altered, *operands) if operands else answer_of(altered, form),
                _neighbourhood(neighbours_by_form[form]),
                instances=[(NaturalRulePrompt(rule, "instance", first_template["instance"], ops).prompt,
                            worked(altered, *ops)) for ops in other_instances],
                understanding=[(p.prompt, answer_of(altered, p.form), repeated) for p, repeated in understanding],
                instance_held_out=[ops in hidden for ops in other_instances],
            ))
    return requests


def _rule_request(case_id: int, rule: Rule, form: str, prompt: RulePrompt, rephrase: RulePrompt, target_new: str,
                  locality: dict[str, Any], instances: list[tuple[str, str]],
                  understanding: list[tuple[str, str, bool]], **extra: Any) -> Request:
    """One RuleEdit-shaped request (both worlds' builders lay it out here, so they cannot drift).

    ``instances`` are ``(prompt, new answer)`` pairs of Instance Portability; ``understanding``
    ``(prompt, new answer, repeats another case's edit prompt)`` triples of Rule Understanding.
    """
    return {
        "case_id": case_id,
        "rule_id": rule.rule_id,
        "form": form,
        "prompt": prompt.prompt,
        "subject": rule.name,
        "target_new": target_new,
        "ground_truth": prompt.answer,
        "rephrase_prompt": rephrase.prompt,
        "locality": locality,
        "portability": {
            "Instance": {"prompt": [q for q, _ in instances], "ground_truth": [a for _, a in instances]},
            "Rule_Understanding": {"prompt": [q for q, _, _ in understanding],
                                   "ground_truth": [a for _, a, _ in understanding]},
        },
        "rule_prompt_repeats_edit_prompt": [repeated for _, _, repeated in understanding],
        **extra,
    }


def _rule_neighbours(world: World | NaturalWorld, rule: Rule, form: str, known: set[str], count: int,
                     rng: random.Random) -> list[RulePrompt]:
    """Known prompts of the same form about other rules (their answers must not change)."""
    pool = [p for other in world.rules if other.rule_id != rule.rule_id
            for p in world.rule_prompts(other, form) if p.prompt in known]
    return rng.sample(pool, min(count, len(pool)))

