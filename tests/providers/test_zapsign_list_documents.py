"""`ZapSignClient.list_documents` (`GET docs/`, docs/providers/zapsign.md §3.3) against the simulator, and the shapes
the docs show for it."""

from __future__ import annotations

import json

from signbridge.providers.http import ProviderHttp, RetryPolicy
from signbridge.providers.zapsign import ZapSignClient
from simulators.zapsign.simulator import ZapSignSimulator
from tests.providers.scripted_server import Reply, scripted_server
from tests.simulators.conftest_zapsign import new_document


def test_the_folder_filter_lists_only_that_folders_documents(
    zapsign_client: ZapSignClient, zapsign_simulator: ZapSignSimulator
) -> None:
    # Given documents in two request folders and one in the root
    mine = zapsign_client.create_document(new_document(folder_path="/signbridge/r1/"))
    zapsign_client.create_document(new_document(folder_path="/signbridge/r2/"))
    zapsign_client.create_document(new_document())

    # When listing one folder (with or without its trailing slash)
    page = zapsign_client.list_documents(folder_path="/signbridge/r1/")
    again = zapsign_client.list_documents(folder_path="/signbridge/r1")

    # Then only its document is listed, in the documented paginated shape
    assert [item.token for item in page.results] == [mine.token]
    assert [item.token for item in again.results] == [mine.token]
    assert (page.count, page.next, page.previous) == (1, None, None)
    assert page.results[0].status == "pending"
    assert zapsign_simulator.calls["list_documents"] == 2


def test_pages_follow_the_documented_pagination(zapsign_client: ZapSignClient) -> None:
    # Given more documents than a page holds (the simulator pages by 25)
    tokens = [zapsign_client.create_document(new_document(folder_path="/bulk/")).token for _ in range(27)]

    # When reading the folder page by page, oldest first
    first = zapsign_client.list_documents(folder_path="/bulk/", sort_order="asc")
    second = zapsign_client.list_documents(folder_path="/bulk/", sort_order="asc", page=2)

    # Then the pages hold every document once, with next/previous links
    assert first.count == 27
    assert first.next is not None
    assert second.previous is not None
    assert [item.token for item in (*first.results, *second.results)] == tokens


def test_a_bare_array_answer_is_read_as_one_page() -> None:
    # Given ZapSign answering the list with a bare array (one tab of the docs page shows that shape, §3.3)
    items = [{"token": "7d23fcfa-0000", "status": "pending", "name": None, "signed_file": None}]
    with scripted_server(Reply(body=json.dumps(items).encode())) as server:
        http = ProviderHttp("zapsign", server.url, retry=RetryPolicy(max_attempts=1))
        client = ZapSignClient(server.url, "token", http=http)

        # When listing
        page = client.list_documents(folder_path="/signbridge/r1/")

    # Then it is one page of those items, and the filter was sent as a query parameter
    assert [item.token for item in page.results] == ["7d23fcfa-0000"]
    assert page.count == 1
    assert "folder_path=%2Fsignbridge%2Fr1%2F" in server.requests[0].path
    assert "page=1" in server.requests[0].path
