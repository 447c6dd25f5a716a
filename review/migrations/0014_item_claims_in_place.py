"""Claims update the item row in place (HOT) on PostgreSQL.

A claim sets lease_holder, leased_until and updated_at. With lease_holder indexed, every claim
added an entry to each of the item's indexes, among them the head of item_claim_order that
every claim reads: dead entries piled up there and each claim stepped over more of them. With
no indexed column changed and free space on the page (fillfactor 90: a tenth of each page kept
for new row versions), PostgreSQL updates the row within its page and touches no index.
"""

from django.conf import settings
from django.db import migrations, models


def keep_free_space(apps, schema_editor) -> None:  # noqa: ANN001
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE review_item SET (fillfactor = 90)")


def pack_full(apps, schema_editor) -> None:  # noqa: ANN001
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE review_item RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [
        ("review", "0013_lease_open_by_reviewer"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="item",
            name="lease_holder",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.RunPython(keep_free_space, pack_full),
    ]
