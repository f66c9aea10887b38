namespace Studies.Reports; internal static class Placeholder { }
