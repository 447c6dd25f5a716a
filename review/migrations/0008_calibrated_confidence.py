# Calibration: the calibrated confidence of each field at routing, and the queue's target
# escaped-error rate that threshold advice aims for.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('review', '0007_double_review'),
    ]

    operations = [
        migrations.AddField(
            model_name='itemfield',
            name='calibrated_confidence',
            field=models.FloatField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='queue',
            name='target_error_rate',
            field=models.FloatField(default=0.01, help_text='Highest acceptable share of wrong values among auto-accepted ones; threshold advice aims for it.'),
        ),
    ]
