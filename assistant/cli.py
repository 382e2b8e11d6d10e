"""CLI: `assistant index | ingest | remove | ask | eval | serve | feeds`, thin over the service."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from assistant.answers.reader.card import ReaderFileError
from assistant.articles.corpus import ArticleError, iter_article_files, load_article
from assistant.articles.entities import EntityModelError
from assistant.articles.synonyms import WordNetError
from assistant.config import PACKAGED_MODEL, Settings, get_settings
from assistant.feeds.polling import PollReport
from assistant.feeds.subscriptions import FeedError, Subscriptions, parse_every, poll_now, when
from assistant.http.observability import configure_logging
from assistant.index.backends import open_backend
from assistant.index.embedding import ModelLoadError
from assistant.index.indexing import Action, IndexBuildError, IngestReport
from assistant.index.segments import IndexStateError
from assistant.service import AskResult, AssistantService, build
from assistant.watch import CorpusWatcher

# Everything that can stop the assistant from starting, each with a message that says why.
STARTUP_ERRORS = (
    ModelLoadError,
    EntityModelError,
    ReaderFileError,
    IndexBuildError,
    IndexStateError,
    ValueError,
)

app = typer.Typer(
    help="Extractive, cited answers from a collection of news articles.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()
errors = Console(stderr=True)
feeds_app = typer.Typer(
    help="RSS and Atom feeds whose new articles arrive by themselves (`serve` polls them).",
    no_args_is_help=True,
)
app.add_typer(feeds_app, name="feeds")

IndexDirOption = Annotated[
    Path | None,
    typer.Option("--index-dir", help="Index folder (default: ASSISTANT_INDEX_DIR or index/)."),
]
CorpusDirOption = Annotated[
    Path | None,
    typer.Option("--corpus-dir", help="Corpus folder (default: ASSISTANT_CORPUS_DIR or corpus/)."),
]


def _settings(index_dir: Path | None = None, corpus_dir: Path | None = None) -> Settings:
    updates: dict[str, object] = {}
    if index_dir is not None:
        updates["index_dir"] = index_dir
    if corpus_dir is not None:
        updates["corpus_dir"] = corpus_dir
    return get_settings().model_copy(update=updates)


def _fail(message: str) -> typer.Exit:
    errors.print(f"[bold red]error:[/] {escape(message)}")
    return typer.Exit(code=1)


@contextmanager
def _opened(settings: Settings) -> Iterator[AssistantService]:
    """The service for one command, closed after it.

    A start-up error, or one of the same kinds from the command's own work (an ingest the
    index refuses), ends the command with one line on stderr and exit status 1.
    """
    try:
        service = AssistantService.open(settings)
        try:
            yield service
        finally:
            service.close()
    except STARTUP_ERRORS as exc:
        raise _fail(str(exc)) from exc


def _setup_logging(settings: Settings, server: bool = False) -> None:
    json_lines = settings.log_format == "json" or (settings.log_format == "auto" and server)
    configure_logging(settings.log_level, json_lines)


@app.command()
def index(
    rebuild: Annotated[
        bool, typer.Option("--rebuild", help="Rebuild even if an index exists.")
    ] = False,
    index_dir: IndexDirOption = None,
    corpus_dir: CorpusDirOption = None,
) -> None:
    """Build the index from the corpus (articles → passages → vectors)."""
    settings = _settings(index_dir, corpus_dir)
    _setup_logging(settings)
    backend = open_backend(settings)
    try:
        published = backend.published() is not None
        manifest = backend.current_manifest() if published and not rebuild else None
    except IndexStateError:
        manifest = None
    finally:
        backend.close()
    if published and not rebuild:
        if manifest is None:
            # Damaged: opening the service repairs it (from the record, else from corpus/).
            with _opened(settings) as service:
                manifest = service.snapshot().manifest
        console.print(
            f"index version {manifest.version} already exists in {settings.backend_location} "
            f"({manifest.counts['articles']} articles); use --rebuild to rebuild it"
        )
        return
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=errors,
        transient=False,
    ) as bar:
        task = bar.add_task("loading model", total=None)

        def progress(stage: str, done: int, total: int) -> None:
            bar.update(task, description=stage, completed=done, total=total)

        try:
            report = build(settings, progress=progress)
        except STARTUP_ERRORS as exc:
            raise _fail(str(exc)) from exc
    for skipped in report.skipped:
        errors.print(f"[yellow]skipped:[/] {escape(str(skipped))}")
    m = report.manifest
    console.print(
        f"index version {m.version}: {m.counts['articles']} articles, "
        f"{m.counts['passages']} passages, {m.counts['sentences']} sentences "
        f"in {report.seconds:.1f}s → {settings.backend_location}"
    )


@app.command()
def ingest(
    paths: Annotated[
        list[Path], typer.Argument(help="Article files (.md, .txt, .html) or folders of them.")
    ],
    index_dir: IndexDirOption = None,
    corpus_dir: CorpusDirOption = None,
) -> None:
    """Add or update articles in the index while it keeps serving; copies them into corpus/."""
    settings = _settings(index_dir, corpus_dir)
    _setup_logging(settings)
    missing = [p for p in paths if not p.exists()]
    if missing:
        raise _fail(f"not found: {', '.join(str(p) for p in missing)}")
    articles, failed = [], 0
    for path in iter_article_files(paths):
        try:
            articles.append(load_article(path))
        except ArticleError as exc:
            failed += 1
            errors.print(f"[yellow]skipped:[/] {escape(str(exc))}")
    if not articles:
        raise _fail("no usable article to ingest")
    with _opened(settings) as service:
        _print_changes(service.ingest(articles, origin="cli"))
    if failed:
        raise typer.Exit(code=1)


@app.command()
def remove(
    article_ids: Annotated[list[str], typer.Argument(help="Ids of the articles to remove.")],
    index_dir: IndexDirOption = None,
    corpus_dir: CorpusDirOption = None,
) -> None:
    """Remove articles from the index (and their files from corpus/)."""
    settings = _settings(index_dir, corpus_dir)
    _setup_logging(settings)
    with _opened(settings) as service:
        report = service.remove(article_ids, origin="cli")
        _print_changes(report)
    if any(o.action == Action.NOT_FOUND for o in report.outcomes):
        raise typer.Exit(code=1)


def _print_changes(report: IngestReport) -> None:
    for outcome in report.outcomes:
        title = f" {escape(outcome.title)}" if outcome.title else ""
        console.print(f"{outcome.action.value:<10} {outcome.article_id}{title}")
    console.print(
        f"index version {report.manifest.version}: {report.manifest.counts['articles']} articles"
        f" ({report.embedded_texts} passages and sentences embedded in {report.seconds:.2f}s)"
    )


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The question to answer.")],
    top_k: Annotated[int, typer.Option("--top-k", min=1, max=10, help="Passages to cite.")] = 3,
    index_dir: IndexDirOption = None,
) -> None:
    """Answer one question in the terminal, with the short answer and numbered citations."""
    if not question.strip():
        raise _fail("the question is blank")
    settings = _settings(index_dir)
    _setup_logging(settings)
    with _opened(settings) as service:
        _print_result(service.ask(question, top_k))


def _print_result(result: AskResult) -> None:
    answer = result.answer
    if not answer.answered or answer.text is None:
        console.print("[bold]The articles do not answer this question.[/]")
        if result.citations:
            console.print("Nearest passages:")
    else:
        text = answer.text
        if answer.highlight:
            h = answer.highlight
            shown = (
                f"{escape(text[: h.start])}[bold reverse]{escape(h.text)}[/]{escape(text[h.end :])}"
            )
        else:
            shown = escape(text)
        console.print(f"{shown} [dim][1][/]")
        console.print(f"[dim]confidence {answer.confidence:.2f}[/]")
    for citation in result.citations:
        p = citation.passage
        meta = ", ".join(x for x in (p.source, p.published) if x)
        console.print(
            f"[bold][{citation.n}][/] {escape(p.title)}"
            + (f" ({escape(meta)})" if meta else "")
            + f" [dim]· {p.article_id} chars {p.start}–{p.end}[/]"
        )


_EVAL_COLUMNS = (
    "questions",
    "hit@1",
    "em",
    "f1",
    "recall@1",
    "recall@3",
    "recall@5",
    "mrr",
    "abstention_precision",
    "abstention_recall",
    "wrongly_refused",
    "citation_ok",
    # News question sets (eval/news_questions.yaml) only; blank for the others.
    "article_right",
    "earlier_shown",
    "corroboration_recall",
    "summary_answered",
    "summary_relevant",
)


@app.command("train-reader")
def train_reader(
    data: Annotated[
        list[Path], typer.Argument(help="SQuAD-format JSON files (plain or .gz) to train on.")
    ],
    out: Annotated[
        Path,
        typer.Option(
            help="Folder for the reader's weights and card (assistant/answers/reader/trained "
            "replaces the packaged reader)."
        ),
    ],
    checkpoints: Annotated[
        Path, typer.Option(help="Checkpoint folder; a run with the same settings resumes.")
    ] = Path("build/reader-checkpoints"),
    examples: Annotated[int, typer.Option(min=1, help="Training windows in all.")] = 40_000,
    max_length: Annotated[int, typer.Option(min=32, max=512, help="Tokens per window.")] = 96,
    batch_size: Annotated[int, typer.Option(min=1)] = 16,
    learning_rate: Annotated[float, typer.Option(min=0.0)] = 1e-4,
    negative_rate: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Answerless windows per question.")
    ] = 0.4,
    perturbed_rate: Annotated[
        float,
        typer.Option(
            min=0.0,
            max=1.0,
            help="Changed questions (another name, number or antonym, a negation) per "
            "answerable question, taught as unanswerable.",
        ),
    ] = 0.0,
    paraphrased_rate: Annotated[
        float,
        typer.Option(
            min=0.0,
            max=1.0,
            help="Reworded questions (WordNet synonyms that the paragraph does not use) per "
            "answerable question, taught with their answer.",
        ),
    ] = 0.0,
    wordnet_dir: Annotated[
        Path, typer.Option(help="WordNet 3.0 folder that --paraphrased-rate draws from.")
    ] = Path("/usr/share/wordnet"),
    seed: Annotated[int, typer.Option()] = 17,
    start_from: Annotated[
        Path | None,
        typer.Option(help="Adapt this reader (e.g. the packaged one) instead of the base."),
    ] = None,
    base: Annotated[
        str, typer.Option(help="Encoder to start from: the packaged model or a local folder.")
    ] = PACKAGED_MODEL,
    tune_half: Annotated[
        list[Path] | None,
        typer.Option(
            help="Also train on the tune half of this file's articles (e.g. SQuAD 2.0 dev, "
            "for its real unanswerable questions); benches measure on the other half."
        ),
    ] = None,
    tune_repeats: Annotated[int, typer.Option(min=1, help="Windows per tune-half question.")] = 2,
) -> None:
    """Train the reader (short answer and no-answer score) from SQuAD-format questions."""
    from assistant.answers.reader.training import Progress as TrainingProgress
    from assistant.answers.reader.training import TrainingSettings, train
    from assistant.index.embedding import resolve_model_path

    missing = [str(path) for path in [*data, *(tune_half or [])] if not path.is_file()]
    if missing:
        raise _fail(f"no such file: {', '.join(missing)}")
    settings = TrainingSettings(
        examples=examples,
        max_length=max_length,
        batch_size=batch_size,
        learning_rate=learning_rate,
        negative_rate=negative_rate,
        perturbed_rate=perturbed_rate,
        paraphrased_rate=paraphrased_rate,
        seed=seed,
        tune_repeats=tune_repeats,
    )
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("loss {task.fields[loss]:.3f} · {task.fields[rate]:.1f} windows/s"),
        TimeElapsedColumn(),
        console=errors,
    ) as bar:
        task = bar.add_task("training", total=settings.steps, loss=float("nan"), rate=0.0)

        def report(progress: TrainingProgress) -> None:
            bar.update(
                task,
                completed=progress.step,
                total=progress.steps,
                loss=progress.loss,
                rate=progress.examples_per_second,
            )

        try:
            card = train(
                data,
                resolve_model_path(base),
                out,
                checkpoints,
                settings,
                start_from=start_from,
                report=report,
                tune_half=tune_half or (),
                wordnet=wordnet_dir,
            )
        except (ModelLoadError, ReaderFileError, WordNetError, ValueError, KeyError) as exc:
            raise _fail(str(exc)) from exc
    held_out = card["held_out"]
    console.print(
        f"reader written to {out}: {card['windows']} windows in {card['seconds']:.0f}s; "
        f"held-out exact span {held_out['exact_span']:.3f}, "
        f"no-answer accuracy {held_out['no_answer_accuracy']:.3f}"
    )


@app.command("eval")
def evaluate(
    questions: Annotated[Path, typer.Option(help="Question set (YAML).")] = Path(
        "eval/seed_questions.yaml"
    ),
    floors: Annotated[
        Path | None, typer.Option(help="Floors (JSON); any figure below one exits with status 1.")
    ] = Path("eval/floors.json"),
    no_floors: Annotated[
        bool, typer.Option("--no-floors", help="Print the figures without checking floors.")
    ] = False,
    failures: Annotated[bool, typer.Option("--failures", help="List every miss.")] = False,
    index_dir: IndexDirOption = None,
    corpus_dir: CorpusDirOption = None,
) -> None:
    """Measure answer quality on a question set, per question type."""
    import json

    from rich.table import Table

    from assistant.evaluation import below_floors, evaluate, load_questions

    settings = _settings(index_dir, corpus_dir)
    _setup_logging(settings)
    try:
        question_set = load_questions(questions)
    except (OSError, ValueError) as exc:
        raise _fail(str(exc)) from exc
    limits: dict[str, Any] | None = None
    if not no_floors and floors is not None:
        # Read before the questions are answered: a wrong path fails at once, not minutes on.
        try:
            limits = json.loads(floors.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise _fail(f"floors {floors}: {exc} (--no-floors to skip them)") from exc
        if not isinstance(limits, dict):
            raise _fail(f"floors {floors}: expected a JSON object of figures")
    with _opened(settings) as service:
        report = evaluate(service, question_set)
        version = service.health().index_version
    figures = report.figures()
    table = Table(title=f"{questions} · index version {version}")
    table.add_column("figure")
    for group in figures:
        table.add_column(group, justify="right")
    for column in _EVAL_COLUMNS:
        cells = []
        for values in figures.values():
            value = values.get(column)
            cells.append(
                ""
                if value is None
                else f"{value:.0f}"
                if column == "questions"
                else f"{value:.1f}"
                if column in ("em", "f1")
                else f"{value:.3f}"
            )
        if any(cells):
            table.add_row(column, *cells)
    console.print(table)
    if failures:
        for miss in report.failures():
            q = miss.question
            console.print(
                f"[yellow]{q.id}[/] {escape(q.question)} → "
                + (escape(repr(miss.answer)) if miss.answered else "[i]no answer[/]")
                + f" [dim](confidence {miss.confidence:.2f})[/]"
            )
    if limits is not None:
        problems = below_floors(figures, limits)
        for problem in problems:
            errors.print(f"[bold red]below floor:[/] {escape(problem)}")
        if problems:
            raise typer.Exit(code=1)
        console.print(f"every figure meets its floor in {floors}")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8000).")] = None,
    watch: Annotated[
        bool, typer.Option("--watch", help="Also ingest files added to or changed in corpus/.")
    ] = False,
    workers: Annotated[
        int,
        typer.Option(
            min=1, help="Server processes sharing the one on-disk index (each loads the model)."
        ),
    ] = 1,
    index_dir: IndexDirOption = None,
    corpus_dir: CorpusDirOption = None,
) -> None:
    """Run the web server (builds the index from the corpus first if there is none)."""
    import uvicorn

    from assistant.http.api import create_app

    settings = _settings(index_dir, corpus_dir)
    if host is not None:
        settings = settings.model_copy(update={"host": host})
    if port is not None:
        settings = settings.model_copy(update={"port": port})
    _setup_logging(settings, server=True)
    service: AssistantService | None = None
    if workers > 1 and not watch:
        # The supervisor only starts and watches the workers: the index is built or repaired
        # in a child process, so that the supervisor never holds the model (about 400 MB).
        version, problem = _open_index_elsewhere(settings)
        if problem is not None:
            raise _fail(problem)
    else:
        try:
            service = AssistantService.open(settings)
        except STARTUP_ERRORS as exc:
            raise _fail(str(exc)) from exc
        version = service.health().index_version
    # One access line per request comes from RequestObserver (with its request id and route);
    # on SIGTERM, requests in flight get shutdown_grace_seconds to finish.
    server_options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "log_level": settings.log_level.lower(),
        "log_config": None,
        "access_log": False,
        "timeout_graceful_shutdown": settings.shutdown_grace_seconds,
    }
    errors.print(f"serving index version {version} on http://{settings.host}:{settings.port}")
    watcher = None
    if watch and service is not None:
        watcher = CorpusWatcher(service, settings.corpus_dir, settings.watch_interval)
        watcher.start()
        errors.print(f"watching {settings.corpus_dir} for new and changed articles")
    if settings.feed_poll:
        errors.print("polling the feeds (`assistant feeds list`) when they are due")
    try:
        if workers == 1 and service is not None:
            app_ = create_app(settings, service, poll_feeds=settings.feed_poll)
            uvicorn.run(app_, **server_options)
        else:
            # Each worker process opens the same index version from disk and follows CURRENT
            # like any reader; options reach them through the environment.
            os.environ.update(
                ASSISTANT_INDEX_DIR=str(settings.index_dir.resolve()),
                ASSISTANT_CORPUS_DIR=str(settings.corpus_dir.resolve()),
                ASSISTANT_LOG_FORMAT="json" if settings.log_format != "text" else "text",
            )
            uvicorn.run(
                "assistant.http.api:serve_app",
                factory=True,
                workers=workers,
                **server_options,
            )
    finally:
        if watcher is not None:
            watcher.stop()


# -- feeds ---------------------------------------------------------------------------------


@contextmanager
def _subscriptions(settings: Settings) -> Iterator[Subscriptions]:
    """The feeds of the index ``settings`` name, without loading the model."""
    try:
        backend = open_backend(settings)
    except ValueError as exc:
        raise _fail(str(exc)) from exc
    try:
        yield Subscriptions(backend, settings)
    finally:
        backend.close()


@feeds_app.command("add")
def feeds_add(
    url: Annotated[str, typer.Argument(help="The feed's address (http or https).")],
    every: Annotated[
        str | None,
        typer.Option(
            "--every", help="How often to poll it: 90s, 15m, 1h, 1d (default 15m; at least 60s)."
        ),
    ] = None,
    index_dir: IndexDirOption = None,
) -> None:
    """Subscribe to an RSS or Atom feed; a running `assistant serve` polls it at once."""
    settings = _settings(index_dir)
    _setup_logging(settings)
    with _subscriptions(settings) as subscriptions:
        try:
            feed, added = subscriptions.add(url, parse_every(every) if every else None)
        except FeedError as exc:
            raise _fail(str(exc)) from exc
    minutes = feed.every_seconds / 60
    if not added:
        console.print(f"feed {feed.id} is {escape(feed.url)} already (every {minutes:g} min)")
        return
    console.print(
        f"added feed {feed.id}: {escape(feed.url)}, polled every {minutes:g} min "
        f"(by `assistant serve`, at once; or now: `assistant feeds poll {feed.id}`)"
    )


@feeds_app.command("list")
def feeds_list(index_dir: IndexDirOption = None) -> None:
    """The feeds with their state: when last checked and read, errors, articles brought."""
    from rich.table import Table

    settings = _settings(index_dir)
    _setup_logging(settings)
    with _subscriptions(settings) as subscriptions:
        feeds = subscriptions.list()
    if not feeds:
        console.print("no feeds yet: `assistant feeds add URL`")
        return
    table = Table(title=f"feeds · {settings.backend_location}")
    for column, justify in (
        ("id", "right"),
        ("feed", "left"),
        ("every", "right"),
        ("articles", "right"),
        ("last checked", "left"),
        ("last read", "left"),
        ("next poll", "left"),
        ("last error", "left"),
    ):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for feed in feeds:
        name = f"{escape(feed.title)}\n[dim]{escape(feed.url)}[/]" if feed.title else feed.url
        error = f"[red]{escape(feed.last_error)}[/]" if feed.last_error else ""
        table.add_row(
            str(feed.id),
            name,
            f"{feed.every_seconds / 60:g} min",
            str(feed.articles),
            when(feed.last_checked),
            when(feed.last_ok),
            "at once" if feed.next_poll is None else when(feed.next_poll),
            error,
        )
    console.print(table)


@feeds_app.command("remove")
def feeds_remove(
    feed_ids: Annotated[list[int], typer.Argument(help="Ids of the feeds (`feeds list`).")],
    index_dir: IndexDirOption = None,
) -> None:
    """Unsubscribe from feeds; the articles they brought stay (`assistant remove ID`)."""
    settings = _settings(index_dir)
    _setup_logging(settings)
    missing = []
    with _subscriptions(settings) as subscriptions:
        for feed_id in feed_ids:
            if subscriptions.remove(feed_id):
                console.print(f"removed feed {feed_id}")
            else:
                missing.append(feed_id)
    for feed_id in missing:
        errors.print(f"[yellow]no feed with id {feed_id}[/]")
    if missing:
        raise typer.Exit(code=1)


@feeds_app.command("poll")
def feeds_poll(
    feed_id: Annotated[
        int | None, typer.Argument(help="The feed to poll now (default: every due feed).")
    ] = None,
    every_feed: Annotated[
        bool, typer.Option("--all", help="Poll every feed now, due or not.")
    ] = False,
    index_dir: IndexDirOption = None,
    corpus_dir: CorpusDirOption = None,
) -> None:
    """Poll feeds now and ingest what is new (for cron: without an id, the due feeds)."""
    from assistant.feeds.polling import is_due, utc_now

    settings = _settings(index_dir, corpus_dir)
    _setup_logging(settings)
    with _opened(settings) as service:
        subscriptions = Subscriptions(service.backend, settings)
        if feed_id is not None:
            if subscriptions.get(feed_id) is None:
                raise _fail(f"no feed with id {feed_id}")
            chosen = [feed_id]
        else:
            now = utc_now()
            chosen = [f.id for f in subscriptions.list() if every_feed or is_due(f, now)]
        if not chosen:
            console.print("no feed is due (`assistant feeds poll --all` polls them all now)")
            return
        reports = []
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=errors,
            transient=True,
        ) as bar:
            for chosen_id in chosen:
                task = bar.add_task(f"feed {chosen_id}: reading the feed", total=None)

                def progress(done: int, total: int, what: str, task: Any = task) -> None:
                    bar.update(task, description=escape(what), completed=done, total=total)

                reports.append(poll_now(service, settings, chosen_id, progress))
                bar.remove_task(task)
    for report in reports:
        _print_poll(report)
    if any(r.status in ("failed", "busy") for r in reports):
        raise typer.Exit(code=1)


def _print_poll(report: PollReport) -> None:
    head = f"feed {report.feed_id} ({escape(report.url)}): "
    if report.status == "failed":
        console.print(head + f"[bold red]failed:[/] {escape(report.error or '')}")
        return
    if report.status == "busy":
        console.print(head + "[yellow]being polled by another process; try again shortly[/]")
        return
    if report.status == "not_modified":
        console.print(head + "not modified since the last poll (HTTP 304)")
        return
    version = f", index version {report.index_version}" if report.index_version else ""
    console.print(
        head + f"{report.added} added, {report.updated} updated, {report.unchanged} unchanged, "
        f"{report.failed} failed; {report.requests} requests in {report.seconds:.1f}s{version}"
    )
    if report.error:
        console.print(f"  [yellow]{escape(report.error)}[/]")


def _open_index(settings: Settings) -> tuple[int, str | None]:
    """Open the index (building or repairing it) and close it again: its version, or why not."""
    _setup_logging(settings, server=True)
    try:
        service = AssistantService.open(settings)
    except STARTUP_ERRORS as exc:
        return 0, str(exc)
    try:
        return service.health().index_version, None
    finally:
        service.close()


def _open_index_elsewhere(settings: Settings) -> tuple[int, str | None]:
    """:func:`_open_index` in a fresh (spawned) process, whose memory goes when it ends."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(_open_index, settings).result()


if __name__ == "__main__":  # pragma: no cover
    app()
