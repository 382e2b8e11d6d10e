"""Index build time, model load time and /ask latency on the seed corpus, in process.

    .venv/bin/python bench/latency.py [--questions 50]

Builds a fresh index in a temporary folder, then sends each question through the FastAPI
app (validation, service, serialisation) with the test client, and prints percentiles.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from fastapi.testclient import TestClient

from assistant.api import create_app
from assistant.config import Settings
from assistant.embedding import Embedder
from assistant.index import IndexDirectory
from assistant.service import AssistantService, build

ROOT = Path(__file__).resolve().parent.parent

QUESTIONS = [
    "Where will the U.S.-China trade talks be held?",
    "When do the talks resume?",
    "Who is the U.S. Treasury secretary?",
    "Who heads the USTR?",
    "Who will the Americans meet in Madrid?",
    "Where were the earlier rounds of talks held?",
    "What is the biggest focus of this round?",
    "When is the TikTok deadline?",
    "Who owns TikTok?",
    "How many times has the TikTok deadline been extended?",
    "How high are the US tariffs on China?",
    "Until when were the tariffs extended?",
    "What did the two countries agree in Stockholm?",
    "How does the US want to use the war in Ukraine?",
    "What did Bessent urge at the G7?",
    "Which countries buy Russian crude?",
    "What extra tariff does the US put on Indian products?",
    "What will China raise at the talks?",
    "Is a breakthrough likely in Madrid?",
    "What did Wendy Cutler say?",
    "Where will the APEC leaders meet?",
    "Why did Spain arrange the talks?",
    "Where was the container ship berthed?",
    "Where do the flags fly?",
    "What round of negotiations is this?",
    "What strategic industries will be discussed?",
    "What has Congress mandated about TikTok?",
    "What share of Americans support the ban?",
    "When will the Chinese delegation be in Spain?",
    "Who leads the Chinese delegation?",
    "What are China's complaints about agriculture?",
    "Where does China buy farm goods instead?",
    "When did both nations impose escalating tariffs?",
    "What did Marco Rubio call for?",
    "What did Dong Jun warn against?",
    "Why are Spain's relations with the US strained?",
    "Does the US still use Spanish military bases?",
    "How many times has Pedro Sanchez visited China?",
    "What is Spain's stance on EU tariffs on Chinese electric vehicles?",
    "Where will Bessent go after Spain?",
    "Who will Trump meet at Windsor Castle?",
    "What is the recipe for paella?",
    "Who won the 2022 World Cup?",
    "What is the population of Madrid?",
    "What is the GDP of China?",
    "money laundering cooperation",
    "duties on indian goods",
    "which port in jiangsu",
    "what happens on the 17th",
    "Who is He Lifeng?",
]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=len(QUESTIONS))
    parser.add_argument("--rounds", type=int, default=3, help="passes over the questions")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(corpus_dir=ROOT / "corpus", index_dir=Path(tmp) / "index")
        started = time.perf_counter()
        embedder = Embedder(settings.model)
        model_load = time.perf_counter() - started
        report = build(settings, embedder)
        started = time.perf_counter()
        service = AssistantService(settings, embedder, IndexDirectory(settings.index_dir))
        open_seconds = time.perf_counter() - started

        questions = QUESTIONS[: args.questions]
        latencies: list[float] = []
        with TestClient(create_app(settings, service)) as client:
            client.post("/ask", json={"question": "warm-up"})
            for _ in range(args.rounds):
                for question in questions:
                    t = time.perf_counter()
                    response = client.post("/ask", json={"question": question})
                    latencies.append((time.perf_counter() - t) * 1000.0)
                    assert response.status_code == 200, response.text
        answered = sum(service.ask(q).answer.answered for q in questions)

    print(f"model load          {model_load:8.2f} s")
    print(f"index build         {report.seconds:8.2f} s  ({report.manifest.counts})")
    print(f"index open          {open_seconds * 1000:8.1f} ms")
    print(
        f"/ask in process     {len(latencies)} requests over {len(questions)} questions "
        f"({answered} answered)"
    )
    print(f"  median            {statistics.median(latencies):8.1f} ms")
    print(f"  p95               {percentile(latencies, 95):8.1f} ms")
    print(f"  max               {max(latencies):8.1f} ms")


if __name__ == "__main__":
    main()
