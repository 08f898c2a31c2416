"""What the companion can do besides talk: reminders now, the calendar and mail later.

Each skill is one module behind the ``Skill`` Protocol (``base.py``). A request reaches a
skill as a typed ``SkillCall``, from the deterministic intent parser (``intent.py``, any
model) and, later, from a model's tool calls; the reply that reports an action is built
from the skill's ``SkillResult``, never guessed by the model.
"""
