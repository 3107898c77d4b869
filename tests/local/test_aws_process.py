"""The AWS emulation in a process of its own (the local stack's choice: moto on another core): started with its
readiness awaited, serving with the emulation's fixes, and gone once stopped."""

from __future__ import annotations

import pytest
import requests
from botocore.exceptions import ClientError

from local.aws import AwsEmulator


def test_moto_in_its_own_process_serves_the_fixed_emulation_and_stops() -> None:
    emulator = AwsEmulator(separate_process=True).start()
    try:
        # Given the emulator process answering as soon as start() returns
        process = emulator._process
        assert process is not None
        assert process.poll() is None
        dynamodb = emulator.client("dynamodb")
        dynamodb.create_table(
            TableName="in-process-of-its-own",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        dynamodb.put_item(TableName="in-process-of-its-own", Item={"pk": {"S": "a"}, "n": {"N": "1"}})
        # When a transaction fails on its last item
        with pytest.raises(ClientError):
            dynamodb.transact_write_items(
                TransactItems=[
                    {"Delete": {"TableName": "in-process-of-its-own", "Key": {"pk": {"S": "a"}}}},
                    {
                        "ConditionCheck": {
                            "TableName": "in-process-of-its-own",
                            "Key": {"pk": {"S": "missing"}},
                            "ConditionExpression": "attribute_exists(pk)",
                        }
                    },
                ]
            )
        # Then the item it deleted first is still there (the rollback of the touched items runs in that process)
        assert dynamodb.get_item(TableName="in-process-of-its-own", Key={"pk": {"S": "a"}})["Item"]["n"] == {"N": "1"}
        url = emulator.endpoint_url
    finally:
        emulator.stop()
    # and once stopped, the process has exited and the port answers no more
    assert process.poll() is not None
    assert not emulator.running
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/moto-api/data.json", timeout=2)
