"""Who may do what: roles (roles.py), the rights they give (rights.py), and the one way to check a user
against a right or an object against a queryset verb (checks.py). Imports no app of the project."""
