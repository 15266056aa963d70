import django.core.validators
from django.db import migrations, models

from bookmarks.models import normalize_link, normalize_tags

BATCH_SIZE = 500


def fill_normalized_fields(apps, schema_editor):
    Bookmark = apps.get_model("bookmarks", "Bookmark")
    batch = []
    for bookmark in Bookmark.objects.only("pk", "link", "tags").order_by("pk").iterator(chunk_size=BATCH_SIZE):
        bookmark.normalized_link = normalize_link(bookmark.link)
        bookmark.tags = normalize_tags(bookmark.tags)
        batch.append(bookmark)
        if len(batch) == BATCH_SIZE:
            Bookmark.objects.bulk_update(batch, ["normalized_link", "tags"])
            batch = []
    Bookmark.objects.bulk_update(batch, ["normalized_link", "tags"])


class Migration(migrations.Migration):

    dependencies = [
        ("bookmarks", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="bookmark",
            name="description",
            field=models.TextField(
                blank=True,
                max_length=2000,
                validators=[django.core.validators.MaxLengthValidator(2000)],
                verbose_name="description",
            ),
        ),
        migrations.AddField(
            model_name="bookmark",
            name="tags",
            field=models.CharField(
                blank=True,
                help_text="Words separated by spaces or commas, e.g. “docs monitoring”.",
                max_length=500,
                verbose_name="tags",
            ),
        ),
        migrations.AddField(
            model_name="bookmark",
            name="normalized_link",
            field=models.CharField(
                db_index=True, default="", editable=False, max_length=2000, verbose_name="normalised link"
            ),
            preserve_default=False,
        ),
        migrations.RunPython(fill_normalized_fields, migrations.RunPython.noop, elidable=True),
    ]
