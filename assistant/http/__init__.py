"""HTTP: the faces over HTTP, the JSON API and the web pages, with what guards them.

Takes in HTTP requests; gives out responses by calling
:class:`~assistant.service.AssistantService`: ``api`` (the app, ``/ask``, ``/health``,
``/metrics``), ``admin`` (the write routes), ``web`` (the chat and article pages),
``guards`` (limits, rate, in-flight bound), ``schemas`` (request and response models),
``dependencies`` (the service and the admin token per request), ``observability`` (request
ids, logs, metrics) and ``suggestions`` (example questions, which asks the service for
answers, so it is a face, not part of ``answers``).

May import: every stage below it (``articles``, ``index``, ``answers``), ``assistant.service``
and ``assistant.config``; nothing imports it but ``cli``.
"""
