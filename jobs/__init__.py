"""The task queue's periodic jobs (schedules.py, `manage.py setup_schedules`) and the admins' page on its workers."""
