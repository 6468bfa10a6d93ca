"""``dsops learn``: a short course on the repository's daily work, with checked lessons.

* ``catalogue`` — the lesson texts, one data file per language (``en.yaml``, ``zh.yaml``);
* ``lessons`` — the lessons in order and the context a text adapts to;
* ``checks`` — one read-only check per lesson, on the repository's real state;
* ``progress`` — where the learner stands, kept under the git folder (never tracked);
* ``page`` — the guide's ``docs/learn.md``, generated from the English catalogue;
* ``text`` — wrapping to 80 terminal columns (a CJK character is two);
* ``cli`` — the thin layer that prints.
"""
