from tests.world import org, patient

__all__ = ["org", "patient"]
