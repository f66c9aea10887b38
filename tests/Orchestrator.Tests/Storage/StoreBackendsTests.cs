using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Studies.Orchestrator.Hosting;
using Studies.Orchestrator.Storage;

namespace Studies.Orchestrator.Tests.Storage;

/// <summary>The store-backend registry is what locations parse to, what the composition root opens and what the docs list.</summary>
public sealed class StoreBackendsTests
{
    [Fact]
    public void Every_prefix_of_every_backend_parses_to_that_backend_and_a_plain_path_is_the_file_backend()
    {
        foreach (var backend in StoreBackends.All.Entries)
        foreach (var prefix in backend.Prefixes)
        {
            var location = StoreLocation.Parse(prefix + (backend.IsFile ? "sub/x.db" : "alice@db.example:5432/studies"), "/base");
            Assert.Same(backend, location.Backend);
            // A file backend's path is resolved against the study's folder; any other target is kept as written.
            Assert.Equal(backend.IsFile ? "/base/sub/x.db" : prefix + "alice@db.example:5432/studies", location.Target);
            Assert.Equal(location, StoreLocation.Parse(location.Text, "/elsewhere"));
        }
        Assert.Same(StoreBackends.Sqlite, StoreLocation.Parse("results/studies.db", "/base").Backend);
        Assert.Equal("/base/results/studies.db", StoreLocation.Parse("results/studies.db", "/base").Target);
    }

    [Fact]
    public void An_unknown_scheme_names_every_registered_form()
    {
        var error = Assert.Throws<StoreException>(() => StoreLocation.Parse("mysql://db/studies", "/base"));
        foreach (var backend in StoreBackends.All.Entries) Assert.Contains(backend.Form, error.Message);
    }

    [Fact]
    public async Task The_composition_root_has_an_implementation_of_every_registered_backend_and_no_other()
    {
        await using var services = StudiesServices.ForCommand(StudiesServices.Configuration(home: Path.GetTempPath()), NullLoggerFactory.Instance);
        Assert.Equal(StoreBackends.All.Names.Order(), services.GetServices<IStorageBackend>().Select(b => b.Entry.Name).Order());
    }

    [Fact]
    public void Only_a_shared_backend_is_shared_and_messages_hide_its_password()
    {
        Assert.Equal(["postgresql"], StoreBackends.All.Entries.Where(b => b.Shared).Select(b => b.Name));
        Assert.Equal("postgresql://alice:***@db/studies", StoreLocation.Parse("postgresql://alice:pw@db/studies", "/").ToString());
        Assert.Equal("/base/x.db", StoreLocation.Parse("sqlite:x.db", "/base").ToString());
    }
}
