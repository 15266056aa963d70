"""For Django admin pages whose changes go through the services, as every change in VM Lab does."""


class WritesThroughServices:
    """Mixin for a ModelAdmin whose save_model and delete_model call services instead of saving themselves."""

    def delete_queryset(self, request, queryset):
        # One by one through delete_model, so that each deletion is checked and recorded by its service.
        for obj in queryset:
            self.delete_model(request, obj)

    @staticmethod
    def adopt(obj, created) -> None:
        """The admin goes on with the form's own instance (history, redirect): give it the identity of the object a
        service created from the form's values."""
        obj.pk, obj._state.adding = created.pk, False
